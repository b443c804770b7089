"""Partners' commission rates and their monthly settlements (agent's reports)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, Index, Numeric, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billing.database import Base


class PartnerCommissionRate(Base):
    """A partner's commission percent; without a row, ``BILLING_DEFAULT_COMMISSION_PERCENT``."""

    __tablename__ = "partner_commission_rates"

    partner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ProductCommissionRate(Base):
    """One product's percent, overriding its partner's."""

    __tablename__ = "product_commission_rates"

    product_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Settlement(Base):
    """One partner's month, issued once: (partner, month) is unique."""

    __tablename__ = "settlements"
    __table_args__ = (
        UniqueConstraint("partner_id", "period_starts_on"),
        Index("ix_settlements_partner_page", "partner_id", "created_at", "settlement_id"),
    )

    settlement_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    partner_id: Mapped[uuid.UUID]
    period_starts_on: Mapped[date] = mapped_column(Date)
    period_ends_on: Mapped[date] = mapped_column(Date)
    gross_sales: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    commission: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    payout: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """The contract's ``settlement.issued`` data, as published."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
