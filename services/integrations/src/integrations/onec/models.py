from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from integrations.database import Base


class OneCDocument(Base):
    """One billing document on its way to the operator's 1C base, and the 1C object it became.

    One row per billing document: a re-sent document replaces ``payload`` and bumps ``revision``,
    and the sync updates the 1C object found by ``ref_key`` instead of creating another.
    """

    __tablename__ = "onec_documents"

    document_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # invoice (Document_СчетНаОплатуПокупателю) | closing_document (Document_РеализацияТоваровУслуг)
    document_kind: Mapped[str] = mapped_column(String(30))
    document_number: Mapped[str] = mapped_column(String(100))
    # The seller's 1C connector posts it; the buyer is whose document it is.
    seller_organization_id: Mapped[uuid.UUID]
    buyer_organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # The billing document as its event carried it (JSON mode of the contract's model).
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    synced_revision: Mapped[int | None] = mapped_column(Integer)
    # pending (to be written to 1C) | synced | failed (1C refused it; the operator retries)
    status: Mapped[str] = mapped_column(String(20), index=True)
    ref_key: Mapped[uuid.UUID | None] = mapped_column()
    counterparty_ref_key: Mapped[uuid.UUID | None] = mapped_column()
    # Failed rounds since the last success; spaces the next one out.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The trace the row was queued in (W3C traceparent of the handler's span): the job's
    # work on it continues that trace.
    traceparent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class OneCPaymentCursor(Base):
    """How far the incoming payments of one 1C connector have been read."""

    __tablename__ = "onec_payment_cursors"

    connector_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connectors.connector_id", ondelete="CASCADE"), primary_key=True
    )
    # The latest document date read, on the 1C base's own wall clock (1C dates carry no time
    # zone): not an instant, so stored without one.
    read_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
