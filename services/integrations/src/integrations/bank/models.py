"""Imported bank statements and the incoming payments read from them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from integrations.database import Base


class StatementImport(Base):
    """One uploaded statement file and what came of it."""

    __tablename__ = "bank_statement_imports"
    __table_args__ = (Index("ix_bank_statement_imports_created_at", "created_at"),)

    import_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    imported_by: Mapped[uuid.UUID] = mapped_column()
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    own_account: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    documents: Mapped[int] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BankPaymentRow(Base):
    """An incoming payment, stored once whatever number of statements list it."""

    __tablename__ = "bank_payments"

    bank_payment_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("bank_statement_imports.import_id"), index=True
    )
    number: Mapped[str] = mapped_column(String(50))
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    payer_name: Mapped[str] = mapped_column(Text)
    payer_inn: Mapped[str | None] = mapped_column(String(12))
    payer_kpp: Mapped[str | None] = mapped_column(String(9))
    payer_account: Mapped[str] = mapped_column(String(20))
    payer_bank_bic: Mapped[str | None] = mapped_column(String(9))
    purpose: Mapped[str] = mapped_column(Text)
    line_no: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
