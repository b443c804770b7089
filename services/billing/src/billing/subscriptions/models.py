"""Billing's copy of the subscriptions, kept from ``orders.subscriptions`` events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billing.database import Base
from billing.subscriptions.domain import Entry


class Subscription(Base):
    __tablename__ = "subscriptions"

    subscription_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    partner_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    plan_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)
    period_anchor: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column(Date)
    """The day of ``subscription.created``: where a first period starts (after any trial)."""
    # The service as "from this day on" entries (billing.subscriptions.domain.Entry), small
    # and always read whole with the row.
    entries: Mapped[list[Any]] = mapped_column(JSONB)
    # The first day of service and the day it ends (None: open-ended), from the entries: what
    # runs filter on to find the subscriptions a period concerns without reading every row.
    service_starts_on: Mapped[date | None] = mapped_column(Date)
    service_ends_on: Mapped[date | None] = mapped_column(Date)
    # Orders' aggregate version this row reflects; older events never overwrite it.
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def service(self) -> tuple[Entry, ...]:
        return tuple(Entry.from_json(value) for value in self.entries)

    @property
    def first_day(self) -> date:
        """The first day a first invoice bills: the start, or the day after a trial."""
        return max(self.starts_on, self.period_anchor)

    @property
    def is_ended(self) -> bool:
        return self.status in {"cancelled", "expired"}
