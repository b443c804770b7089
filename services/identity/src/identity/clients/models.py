from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from identity.clients.domain import ClientStatus
from identity.database import Base
from identity.organizations.models import Organization


class ApiClient(Base):
    """An organization's machine credentials: what may ask ``/oauth/token`` for tokens."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(50)))
    status: Mapped[ClientStatus] = mapped_column(String(20))
    # HMAC-SHA256 of the secret (hex); the secret itself is never stored.
    secret_hash: Mapped[str] = mapped_column(String(64))
    # The secret before the last rotation, accepted until previous_secret_expires_at.
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    secret_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    organization: Mapped[Organization] = relationship(lazy="joined")
