"""Integrations' copy of the organizations, kept from ``identity.organizations`` events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from integrations.database import Base


class Organization(Base):
    """What EDO needs of an organization: who it is and its participant id at the operator."""

    __tablename__ = "organizations"

    organization_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # Text: the contract sets no length, and a projection must not refuse what its owner accepted.
    legal_name: Mapped[str] = mapped_column(Text)
    inn: Mapped[str] = mapped_column(String(12))
    kpp: Mapped[str | None] = mapped_column(String(9))
    edo_participant_id: Mapped[str | None] = mapped_column(Text)
    # Identity's aggregate version this row reflects; older events never overwrite it.
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
