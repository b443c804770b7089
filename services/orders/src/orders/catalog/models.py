"""Orders' own copy of the catalog, kept from ``catalog.products`` events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.catalog.domain import PlanPrice
from orders.database import Base

ON_SALE = "published"
"""The product status under which its plans can be ordered (the other one is ``retired``)."""


class CatalogProduct(Base):
    __tablename__ = "catalog_products"

    product_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    # The catalog's aggregate version this row reflects; older events never overwrite it.
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    plans: Mapped[list[CatalogPlan]] = relationship(
        order_by="CatalogPlan.position",
        lazy="selectin",
        cascade="all, delete-orphan",
        back_populates="product",
    )

    @property
    def on_sale(self) -> bool:
        """Whether new orders may be placed for its plans (a retired product keeps its
        subscribers but takes no new ones)."""
        return self.status == ON_SALE


class CatalogPlan(Base):
    __tablename__ = "catalog_plans"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_products.product_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    billing_period: Mapped[str] = mapped_column(String(10))
    pricing_unit: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    next_unit_price: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    next_price_effective_on: Mapped[date | None] = mapped_column(Date)
    # The product version the three price columns reflect. A ``plan.price_scheduled`` event
    # moves the prices without a new snapshot, so a snapshot older than it arriving late (from a
    # retry topic) may update the rest of the plan but must leave the prices alone.
    price_version: Mapped[int] = mapped_column(Integer)
    vat_mode: Mapped[str] = mapped_column(String(10))
    min_quantity: Mapped[int] = mapped_column(Integer)
    max_quantity: Mapped[int | None] = mapped_column(Integer)
    trial_days: Mapped[int] = mapped_column(Integer)
    public: Mapped[bool] = mapped_column(Boolean)

    # Loaded on purpose (the repository joins it); never behind the caller's back in async code.
    product: Mapped[CatalogProduct] = relationship(back_populates="plans", lazy="raise_on_sql")

    @property
    def price(self) -> PlanPrice:
        return PlanPrice(self.unit_price, self.next_unit_price, self.next_price_effective_on)

    def price_on(self, day: date) -> Decimal:
        """The unit price (without VAT) of one unit for one period, on ``day``."""
        return self.price.on(day)
