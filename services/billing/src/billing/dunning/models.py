"""What dunning did for each invoice: marked it overdue, reminded, asked for suspension."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from billing.database import Base


class DunningNotice(Base):
    """One dunning step for one invoice. The primary key is the fence: a step is recorded
    (and its event published) once, however many checks or replicas reach it."""

    __tablename__ = "dunning_notices"
    __table_args__ = (Index("ix_dunning_notices_customer", "customer_id", "noticed_on"),)

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.invoice_id"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    """``overdue``, ``reminder`` or ``suspension``."""
    offset_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Days after the due date the step belongs to (a reminder's offset, the grace period)."""
    customer_id: Mapped[uuid.UUID]
    noticed_on: Mapped[date] = mapped_column(Date)
    sent: Mapped[bool] = mapped_column(Boolean)
    """False for a reminder a late check passed over (one reminder is sent, not a burst)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
