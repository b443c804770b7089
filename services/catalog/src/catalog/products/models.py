from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

import catalog.categories.models  # noqa: F401 - products refer to the categories table
from catalog.database import Base
from catalog.products.domain import (
    CLOSED_REVISION,
    BillingPeriod,
    Price,
    PricingUnit,
    ProductStatus,
    RevisionStatus,
    VatMode,
)

SEARCH_DOCUMENT = (
    "setweight(to_tsvector('russian'::regconfig, name), 'A') || "
    "setweight(to_tsvector('russian'::regconfig, tags_text(tags)), 'B') || "
    "setweight(to_tsvector('russian'::regconfig, short_description), 'B') || "
    "setweight(to_tsvector('russian'::regconfig, description), 'C')"
)
"""What storefront search matches, with PostgreSQL's Russian stemming: the name weighs most, then
tags and the short description, then the full description. ``tags_text`` is migration 0007's."""


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_search_document", "search_document", postgresql_using="gin"),
        Index(
            "ix_products_storefront_newest",
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("status = 'published'"),
        ),
        Index(
            "ix_products_storefront_name",
            "name",
            "id",
            postgresql_where=text("status = 'published'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    partner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_description: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(100), ForeignKey("categories.slug"), index=True)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list)
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    documentation_url: Mapped[str | None] = mapped_column(String(2000))
    support: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[ProductStatus] = mapped_column(String(20), default=ProductStatus.DRAFT)
    # The aggregate version: bumped with every event about the product, so consumers can
    # drop stale or repeated events.
    version: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the product first appeared on the storefront (its first approval)."""
    search_document: Mapped[str] = mapped_column(
        TSVECTOR, Computed(SEARCH_DOCUMENT, persisted=True), deferred=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    plans: Mapped[list[Plan]] = relationship(
        back_populates="product",
        order_by="Plan.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    revisions: Mapped[list[ProductRevision]] = relationship(
        back_populates="product",
        order_by="ProductRevision.number",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def latest_revision(self) -> ProductRevision:
        return self.revisions[-1]

    @property
    def live_revision(self) -> int | None:
        """The number of the approved revision the storefront shows (None before approval)."""
        approved = [r.number for r in self.revisions if r.status == RevisionStatus.APPROVED]
        return approved[-1] if approved else None

    @property
    def pending_revision(self) -> ProductRevision | None:
        latest = self.latest_revision
        return None if latest.status in CLOSED_REVISION else latest


class ProductRevision(Base):
    """One round of review: the content proposed, and what the operator decided about it."""

    __tablename__ = "product_revisions"
    __table_args__ = (UniqueConstraint("product_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[RevisionStatus] = mapped_column(String(20))
    # The editable fields as proposed; applied to the product when the revision is approved.
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column()

    product: Mapped[Product] = relationship(back_populates="revisions")


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    billing_period: Mapped[BillingPeriod] = mapped_column(String(10))
    pricing_unit: Mapped[PricingUnit] = mapped_column(String(20))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    vat_mode: Mapped[VatMode] = mapped_column(String(10))
    min_quantity: Mapped[int] = mapped_column(Integer, default=1)
    max_quantity: Mapped[int | None] = mapped_column(Integer)
    trial_days: Mapped[int] = mapped_column(Integer, default=0)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    # A price change announced in advance (B2B customers get a notice period).
    next_unit_price: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    next_price_effective_on: Mapped[date | None] = mapped_column(Date)

    product: Mapped[Product] = relationship(back_populates="plans")

    def price_on(self, day: date) -> Price:
        """The plan's price as of ``day``: a scheduled change whose day has come is the price.

        Rows are not rewritten when that day comes; every reader settles the price instead.
        """
        return Price(self.unit_price, self.next_unit_price, self.next_price_effective_on).settled(
            day
        )
