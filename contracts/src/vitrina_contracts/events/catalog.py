"""Events of the catalog service: published products, their plans and prices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field

from vitrina_contracts.events import _samples as s
from vitrina_contracts.events.base import ContractModel, Event, Money, VatMode

PRODUCTS = "catalog.products"

BillingPeriod = Literal["month", "year"]
PricingUnit = Literal["seat", "organization", "gb", "vcpu", "unit"]


class PlanSnapshot(ContractModel):
    """One plan of a product: what a unit costs, per which period, within which limits."""

    plan_id: UUID
    code: str = Field(description="Stable short code, unique within the product, e.g. 'standard'.")
    name: str
    billing_period: BillingPeriod
    pricing_unit: PricingUnit
    unit_price: Money = Field(description="Price of one unit for one period, without VAT.")
    vat_mode: VatMode
    min_quantity: int = Field(default=1, ge=1)
    max_quantity: int | None = Field(default=None, ge=1, description="None: no upper limit.")
    trial_days: int = Field(default=0, ge=0)
    public: bool = Field(default=True, description="False: sold only by the operator's offer.")
    next_unit_price: Money | None = Field(
        default=None, description="A scheduled price change: the new price of one unit."
    )
    next_price_effective_on: date | None = Field(
        default=None, description="A scheduled price change: the first day billed at it."
    )


class MediaLink(ContractModel):
    """A picture, video or document about the product, hosted elsewhere."""

    kind: Literal["image", "video", "document"]
    url: str
    title: str = ""


class SupportContacts(ContractModel):
    """How the supplier's support is reached."""

    email: str | None = None
    phone: str | None = None
    url: str | None = None
    hours: str | None = Field(default=None, description="When support answers, e.g. '24/7'.")


class ProductSnapshot(ContractModel):
    """A product as published: the whole of it, so a projection needs nothing else."""

    product_id: UUID
    partner_id: UUID = Field(description="The organization that supplies the product.")
    slug: str
    name: str
    short_description: str = ""
    category: str = Field(description="Category slug.")
    status: Literal["published", "retired"]
    version: int = Field(ge=1, description="Product version; grows with every revision.")
    plans: tuple[PlanSnapshot, ...]
    revision: int | None = Field(
        default=None, ge=1, description="The approved revision (moderation round) this shows."
    )
    description: str | None = Field(default=None, description="Full description (plain text).")
    tags: tuple[str, ...] = ()
    documentation_url: str | None = None
    media: tuple[MediaLink, ...] = ()
    support: SupportContacts | None = None


def _product(
    *, status: Literal["published", "retired"] = "published", version: int = 1
) -> ProductSnapshot:
    return ProductSnapshot(
        product_id=s.PRODUCT_ID,
        partner_id=s.PARTNER_ID,
        slug="proektnaya-doska",
        name="Проектная доска",
        short_description="Задачи, сроки и канбан-доски для команд до 500 человек.",
        category="project-management",
        status=status,
        version=version,
        plans=(
            PlanSnapshot(
                plan_id=s.PLAN_STANDARD_ID,
                code="standard",
                name="Стандарт",
                billing_period="month",
                pricing_unit="seat",
                unit_price=s.SEAT_PRICE,
                vat_mode="standard",
                min_quantity=1,
                max_quantity=100,
                trial_days=14,
            ),
            PlanSnapshot(
                plan_id=s.PLAN_BUSINESS_ID,
                code="business",
                name="Бизнес",
                billing_period="year",
                pricing_unit="seat",
                unit_price=Decimal("8400.00"),
                vat_mode="standard",
                min_quantity=10,
            ),
        ),
    )


class ProductPublished(Event):
    """The operator approved a product; it is on sale from now on."""

    event_type: ClassVar[str] = "ru.vitrina.catalog.product.published"
    topic: ClassVar[str] = PRODUCTS
    aggregate_field: ClassVar[str] = "product.product_id"

    product: ProductSnapshot

    @classmethod
    def example(cls) -> Self:
        return cls(product=_product())


class ProductRevised(Event):
    """A published product changed (description, plans, limits); the snapshot is the new state."""

    event_type: ClassVar[str] = "ru.vitrina.catalog.product.revised"
    topic: ClassVar[str] = PRODUCTS
    aggregate_field: ClassVar[str] = "product.product_id"

    product: ProductSnapshot

    @classmethod
    def example(cls) -> Self:
        return cls(product=_product(version=2))


class ProductRetired(Event):
    """A product is no longer sold; existing subscriptions stay until they are cancelled."""

    event_type: ClassVar[str] = "ru.vitrina.catalog.product.retired"
    topic: ClassVar[str] = PRODUCTS
    aggregate_field: ClassVar[str] = "product.product_id"

    product: ProductSnapshot

    @classmethod
    def example(cls) -> Self:
        return cls(product=_product(status="retired", version=3))


class PlanPriceScheduled(Event):
    """A plan's unit price changes from a future date; billing applies it from that day."""

    event_type: ClassVar[str] = "ru.vitrina.catalog.plan.price_scheduled"
    topic: ClassVar[str] = PRODUCTS
    aggregate_field: ClassVar[str] = "product_id"

    product_id: UUID
    plan_id: UUID
    product_version: int = Field(ge=1, description="The product version that carries the price.")
    unit_price: Money = Field(description="The new price of one unit per period, without VAT.")
    effective_on: date = Field(description="First day billed at the new price.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            product_id=s.PRODUCT_ID,
            plan_id=s.PLAN_STANDARD_ID,
            product_version=2,
            unit_price=Decimal("490.00"),
            effective_on=date(2026, 1, 1),
        )
