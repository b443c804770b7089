"""Provisioning calls: one per subscription change the partner must act on."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from integrations.database import Base


class Provisioning(Base):
    __tablename__ = "provisionings"
    __table_args__ = (
        # An event delivered twice, or re-sent under a new id, provisions once.
        UniqueConstraint("subscription_id", "subscription_version", "action"),
        Index("ix_provisionings_partner_id_created_at", "partner_id", "created_at"),
    )

    provisioning_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column()
    subscription_version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    partner_id: Mapped[uuid.UUID] = mapped_column()
    customer_id: Mapped[uuid.UUID] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_deliveries.delivery_id"), unique=True
    )
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
