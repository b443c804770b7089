"""Issued documents (invoices for payment, closing documents, credit notes), what each
subscription's periods are billed for, and the numbering counters.

A document is immutable once issued: its contract form is stored whole (``document``), exactly
as published; the columns beside it are what queries filter and sort on, and the money an
invoice collects.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billing.database import Base
from billing.invoices.domain import InvoiceBalance, InvoiceStatus


class DocumentCounter(Base):
    """The last number given to a kind of document in a year. The issuing transaction
    increments it and holds its row lock until it commits, so concurrent issuers queue here
    and a rolled-back issue gives its number back: no gaps, no duplicates."""

    __tablename__ = "document_counters"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer)


class Invoice(Base):
    """An invoice for payment (счёт на оплату)."""

    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_customer_page", "customer_id", "created_at", "invoice_id"),
        # The dunning check walks open invoices by due date.
        Index(
            "ix_invoices_open_due_on",
            "due_on",
            "invoice_id",
            postgresql_where=text("status IN ('issued', 'overdue')"),
        ),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[uuid.UUID]
    reason: Mapped[str] = mapped_column(String(20))
    """``period``: the first period or a renewal; ``change``: charges for a mid-period change."""
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    amount_net: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    vat_amount: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    amount_total: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    amount_paid: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    status: Mapped[str] = mapped_column(String(10))
    # The invoice's aggregate version in its events (issued is 1; each change of its status +1).
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def balance(self) -> InvoiceBalance:
        return InvoiceBalance(
            invoice_id=self.invoice_id,
            number=self.number,
            customer_id=self.customer_id,
            buyer_inn=str(self.document["buyer"]["inn"]),
            issued_on=self.issued_on,
            due_on=self.due_on,
            amount_total=self.amount_total,
            amount_paid=self.amount_paid,
            status=InvoiceStatus(self.status),
        )

    def store(self, balance: InvoiceBalance) -> None:
        self.amount_paid = balance.amount_paid
        self.status = balance.status.value


class BilledPeriod(Base):
    """What one price period of one subscription is billed for so far. Its primary key is the
    fence that makes invoicing a period happen once, whoever runs it and however often."""

    __tablename__ = "billed_periods"

    subscription_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    period_starts_on: Mapped[date] = mapped_column(Date, primary_key=True)
    period_ends_on: Mapped[date] = mapped_column(Date)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.invoice_id"), index=True)
    """The invoice that billed the period first: what a credit note for it corrects."""
    # billing.invoices.stored: the segments billed, with the terms (prices) they were billed on.
    segments: Mapped[list[Any]] = mapped_column(JSONB)


class ClosingDocument(Base):
    """The UPD (СЧФДОП) for one customer's services rendered in one calendar month."""

    __tablename__ = "closing_documents"
    __table_args__ = (
        UniqueConstraint("customer_id", "period_starts_on"),
        Index("ix_closing_documents_customer_page", "customer_id", "created_at", "document_id"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[uuid.UUID]
    period_starts_on: Mapped[date] = mapped_column(Date)
    period_ends_on: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    amount_net: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    vat_amount: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    amount_total: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CreditNote(Base):
    """A credit for days billed and then changed or cancelled; it corrects the invoice that
    billed them (the closing document does not exist yet when the change happens)."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        Index("ix_credit_notes_customer_page", "customer_id", "created_at", "document_id"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[uuid.UUID]
    corrected_invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.invoice_id"), index=True
    )
    issued_on: Mapped[date] = mapped_column(Date)
    amount_net: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    vat_amount: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    amount_total: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
