"""The catalog's copy of the organizations that sell, kept from ``identity.organizations``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from catalog.database import Base


class Seller(Base):
    """Who supplies a product, as the storefront names it (partners and the operator).

    Businesses are never kept: the catalog has nothing to say about buyers.
    """

    __tablename__ = "sellers"

    organization_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # Text: the contract sets no length, and a projection must not refuse what its owner accepted.
    legal_name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str | None] = mapped_column(Text)
    # Identity's aggregate version this row reflects; older events never overwrite it.
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def display_name(self) -> str:
        return self.short_name or self.legal_name
