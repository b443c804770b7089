from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from integrations.database import Base


class EdoDocument(Base):
    """One billing document's journey to the buyer through the EDO operator.

    One row per billing document (``document_id`` is unique): however often its event is
    delivered, the document is built and sent once.
    """

    __tablename__ = "edo_documents"

    edo_document_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    document_kind: Mapped[str] = mapped_column(String(30))
    document_number: Mapped[str] = mapped_column(String(100))
    # The buyer: whose document it is (tenancy). The seller: whose EDO connector sends it.
    buyer_organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    seller_organization_id: Mapped[uuid.UUID]
    sender_edo_id: Mapped[str | None] = mapped_column(Text)
    recipient_edo_id: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(Text)
    # The UPD exactly as sent (windows-1251); None when it could not be built.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # The closing document as billing issued it, kept only while the UPD cannot be built yet
    # (a party's EDO participant id is not known): what it is built from once the id arrives.
    closing_document: Mapped[dict[str, Any] | None] = mapped_column(JSONB, deferred=True)
    # awaiting_participant (a party's EDO id unknown yet) | pending (built, not yet accepted)
    # | sent | delivered | signed | rejected | failed
    status: Mapped[str] = mapped_column(String(20), index=True)
    connector_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("connectors.connector_id", ondelete="SET NULL")
    )
    operator_message_id: Mapped[str | None] = mapped_column(Text)
    # The buyer's reason for a rejection, or why it failed.
    reason: Mapped[str | None] = mapped_column(Text)
    send_rounds: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The aggregate version of the edo_document.* events about this document.
    version: Mapped[int] = mapped_column(Integer, default=0)
    # The trace the row was queued in (W3C traceparent of the handler's span): the job's
    # work on it continues that trace.
    traceparent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EdoEventCursor(Base):
    """How far the docflow events of one EDO connector's box have been read."""

    __tablename__ = "edo_event_cursors"

    connector_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connectors.connector_id", ondelete="CASCADE"), primary_key=True
    )
    after_index_key: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
