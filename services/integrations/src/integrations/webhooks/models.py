"""Webhook endpoints, the deliveries made to them, every attempt, and what owners were told."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from integrations.database import Base


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_owner_id_created_at", "owner_id", "created_at"),
        # One place per partner answers provisioning calls, so there is no doubt which (a
        # deleted endpoint gives its place up).
        Index(
            "uq_webhook_endpoints_provisioning_owner",
            "owner_id",
            unique=True,
            postgresql_where=text("provisioning AND status <> 'deleted'"),
        ),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column()
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    provisioning: Mapped[bool] = mapped_column(Boolean)
    """The partner's provisioning calls go here (besides the events it subscribed to)."""
    # Encrypted with the connectors' vault (every delivery is signed with the plaintext, so
    # it cannot be hashed); the owner sees it once, when the endpoint is registered.
    signing_secret_encrypted: Mapped[str] = mapped_column(Text)
    # The secret a rotation replaced: deliveries are signed with it too until it expires, so
    # the owner can switch its verifier over without refusing a single delivery.
    previous_signing_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    secret_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))
    consecutive_failures: Mapped[int] = mapped_column(Integer)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # Deleted endpoints stay as rows: their deliveries and attempts are history worth keeping.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One message for one endpoint, tried until acknowledged or the schedule runs out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # A redelivered event enqueues nothing new (the inbox is the first fence, this the
        # second).
        UniqueConstraint("endpoint_id", "message_id"),
        # The dispatcher's one query: pending deliveries, soonest due first.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_owner_id_created_at", "owner_id", "created_at"),
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.endpoint_id"), index=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column()
    purpose: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(64))
    """What the receiver deduplicates by: the event's id, or the provisioning's."""
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    """Exactly the bytes signed and sent, so a redelivery is the same message."""
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    round_attempts: Mapped[int] = mapped_column(Integer)
    """Attempts since the delivery was created or redelivered: the retry schedule's position."""
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The trace the row was queued in (W3C traceparent of the handler's span): the job's
    # work on it continues that trace.
    traceparent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryAttempt(Base):
    __tablename__ = "webhook_delivery_attempts"

    attempt_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.delivery_id"), index=True
    )
    attempt_no: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str] = mapped_column(Text)


class WebhookNotification(Base):
    """Something an endpoint's owner must hear of (its endpoint was disabled), kept for them
    to read at ``GET /webhooks/notifications``."""

    __tablename__ = "webhook_notifications"
    __table_args__ = (
        Index("ix_webhook_notifications_owner_id_created_at", "owner_id", "created_at"),
    )

    notification_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column()
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.endpoint_id"))
    kind: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
