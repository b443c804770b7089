from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from catalog.database import Base


class Category(Base):
    """A node of the storefront's taxonomy; seeded by a migration, read by everyone."""

    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    parent_slug: Mapped[str | None] = mapped_column(
        ForeignKey("categories.slug", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
