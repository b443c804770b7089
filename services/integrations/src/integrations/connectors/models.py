from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from integrations.database import Base


class Connector(Base):
    """One external system an organization (or the operator itself) is reached through."""

    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    connector_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The owner: a business, a partner, or the operator for its own connectors (its EDO box).
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    endpoint_url: Mapped[str] = mapped_column(Text)
    auth_method: Mapped[str] = mapped_column(String(40))
    token_url: Mapped[str | None] = mapped_column(Text)
    authorize_url: Mapped[str | None] = mapped_column(Text)
    # The OAuth client id, or the Basic user name; not a secret.
    login: Mapped[str | None] = mapped_column(String(200))
    scope: Mapped[str | None] = mapped_column(String(500))
    # Kind-specific, non-secret settings (the EDO box id, the 1C base name...).
    options: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    # Every secret (client secret, password, signing secret) as one Fernet-encrypted JSON
    # object; never returned by the API.
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ConnectorToken(Base):
    """The OAuth tokens a connector holds now (access, and refresh if the grant gave one),
    encrypted like its secrets; shared by every replica, so one renewal serves them all."""

    __tablename__ = "connector_tokens"

    connector_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connectors.connector_id", ondelete="CASCADE"), primary_key=True
    )
    token_encrypted: Mapped[str] = mapped_column(Text)
    # In clear: deciding whether to renew must not need the key.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    obtained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
