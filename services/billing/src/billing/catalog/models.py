"""Billing's copy of the catalog's plans, kept from ``catalog.products`` events: what a line
needs to price and describe a subscription's days."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Integer, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from billing.database import Base
from billing.invoices.domain import BillingPeriod, PlanTerms
from billing.invoices.vat import VatMode
from billing.subscriptions.domain import PlanPricing

UNIT_NAMES = {
    "seat": ("место", "796"),
    "organization": ("организация", "796"),
    "gb": ("ГБ", "2553"),
    "vcpu": ("vCPU", "796"),
    "unit": ("шт.", "796"),
}
"""A pricing unit as a document prints it, and its ОКЕИ code (796 «штука», 2553 «гигабайт»)."""


class CatalogProduct(Base):
    __tablename__ = "catalog_products"

    product_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    # The catalog's aggregate version this row reflects; older events never overwrite it.
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CatalogPlan(Base):
    """A plan ever published. Never deleted when a revision drops it: subscriptions on it go
    on until they are cancelled, and billing must still price them."""

    __tablename__ = "catalog_plans"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_products.product_id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    billing_period: Mapped[str] = mapped_column(String(10))
    pricing_unit: Mapped[str] = mapped_column(String(20))
    vat_mode: Mapped[str] = mapped_column(String(10))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    next_unit_price: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    next_price_effective_on: Mapped[date | None] = mapped_column(Date)
    # The product version the price columns reflect: a ``plan.price_scheduled`` moves them
    # without a new snapshot, so an older snapshot arriving late must leave them alone.
    price_version: Mapped[int] = mapped_column(Integer)


def plan_pricing(plan: CatalogPlan, product_name: str) -> PlanPricing:
    """The plan as the invoices domain prices and prints it."""
    unit, okei = UNIT_NAMES.get(plan.pricing_unit, ("шт.", "796"))
    terms = PlanTerms(
        plan_id=plan.plan_id,
        product_id=plan.product_id,
        service_name=f"{product_name}, тариф «{plan.name}», {unit}",
        billing_period=BillingPeriod(plan.billing_period),
        unit_price=plan.unit_price,
        vat_mode=VatMode(plan.vat_mode),
        okei_code=okei,
    )
    return PlanPricing(terms, plan.next_unit_price, plan.next_price_effective_on)
