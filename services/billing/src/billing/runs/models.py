"""Billing runs: what each renewal or period close was asked to do, and what it did."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billing.database import Base


class BillingRun(Base):
    __tablename__ = "billing_runs"

    run_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    run_on: Mapped[date] = mapped_column(Date)
    period_starts_on: Mapped[date] = mapped_column(Date)
    period_ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str | None] = mapped_column(String(200))
    customers: Mapped[int] = mapped_column(Integer, default=0)
    documents_issued: Mapped[int] = mapped_column(Integer, default=0)
    customers_skipped: Mapped[int] = mapped_column(Integer, default=0)
    # Customers the run could not document, and why (requisites not known yet...): at most
    # a hundred, the count is in customers_skipped.
    skipped: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
