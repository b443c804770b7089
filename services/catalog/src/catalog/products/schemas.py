from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer, model_validator

from catalog.products import domain
from catalog.products.domain import (
    BillingPeriod,
    PricingUnit,
    ProductStatus,
    RevisionStatus,
    VatMode,
)
from vitrina_kit.api import RequestModel, ResponseModel

Slug = Annotated[str, Field(min_length=2, max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
PlanCode = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Price = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("999999999.99"), max_digits=11, decimal_places=2),
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str, when_used="json"),
]
"""Rubles with kopecks, e.g. "1500.00"; never a float."""


class PlanCreate(RequestModel):
    code: PlanCode
    name: str = Field(min_length=1, max_length=200)
    billing_period: BillingPeriod = BillingPeriod.MONTH
    pricing_unit: PricingUnit
    unit_price: Price
    vat_mode: VatMode = VatMode.STANDARD
    min_quantity: int = Field(default=1, ge=1, le=1_000_000)
    max_quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    trial_days: int = Field(default=0, ge=0, le=365)
    public: bool = True

    @model_validator(mode="after")
    def _quantity_range(self) -> PlanCreate:
        if self.max_quantity is not None and self.max_quantity < self.min_quantity:
            raise ValueError("max_quantity must not be less than min_quantity")
        return self


Name = Annotated[str, Field(min_length=1, max_length=200)]
ShortDescription = Annotated[str, Field(max_length=500)]
Description = Annotated[str, Field(max_length=20_000, description="Full description, plain text.")]
Url = Annotated[str, Field(max_length=2000, pattern=r"^https://[^\s/$.?#][^\s]*$")]
"""An absolute https URL (links shown to buyers are never plain http)."""
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[\w]+(?:[ -][\w]+)*$")]
Tags = Annotated[list[Tag], Field(max_length=20)]


class MediaLink(RequestModel):
    kind: Literal["image", "video", "document"]
    url: Url
    title: str = Field(default="", max_length=200)


class SupportContacts(RequestModel):
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{5,25}$")
    url: Url | None = None
    hours: str | None = Field(default=None, max_length=200)


Media = Annotated[list[MediaLink], Field(max_length=20)]


class PlanUpdate(RequestModel):
    """The plan's fields to change; the code never changes (orders and billing refer to it)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    billing_period: BillingPeriod | None = None
    pricing_unit: PricingUnit | None = None
    unit_price: Price | None = None
    vat_mode: VatMode | None = None
    min_quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    max_quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    trial_days: int | None = Field(default=None, ge=0, le=365)
    public: bool | None = None

    @model_validator(mode="after")
    def _something_not_null(self) -> PlanUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        nulls = sorted(
            f for f in self.model_fields_set - {"max_quantity"} if getattr(self, f) is None
        )
        if nulls:
            raise ValueError(f"these fields cannot be null: {', '.join(nulls)}")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ProductCreate(RequestModel):
    slug: Slug
    name: Name
    short_description: ShortDescription = ""
    description: Description = ""
    category: Slug
    tags: Tags = Field(default_factory=list)
    media: Media = Field(default_factory=list)
    documentation_url: Url | None = None
    support: SupportContacts | None = None
    plans: list[PlanCreate] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _unique_tags(self) -> ProductCreate:
        _check_unique_tags(self.tags)
        return self

    @model_validator(mode="after")
    def _unique_plan_codes(self) -> ProductCreate:
        codes = [plan.code for plan in self.plans]
        if len(set(codes)) != len(codes):
            raise ValueError("plan codes must be unique within a product")
        return self


class ProductUpdate(RequestModel):
    """The fields to change; the others stay as they are. The slug and the owner never change."""

    name: Name | None = None
    short_description: ShortDescription | None = None
    description: Description | None = None
    category: Slug | None = None
    tags: Tags | None = None
    media: Media | None = None
    documentation_url: Url | None = None
    support: SupportContacts | None = None

    @model_validator(mode="after")
    def _something_not_null(self) -> ProductUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        _check_unique_tags(self.tags or [])
        # documentation_url and support may be cleared with null; the rest always has a value.
        nullable = {"documentation_url", "support"}
        nulls = sorted(f for f in self.model_fields_set - nullable if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"these fields cannot be null: {', '.join(nulls)}")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


def _check_unique_tags(tags: list[str]) -> None:
    if len({tag.casefold() for tag in tags}) != len(tags):
        raise ValueError("tags must be unique")


class PriceChange(RequestModel):
    unit_price: Price
    effective_on: date = Field(description="First day billed at the new price.")


class Rejection(RequestModel):
    reason: str = Field(min_length=1, max_length=2000, description="What the partner must fix.")


class PlanRead(ResponseModel):
    id: uuid.UUID
    code: str
    name: str
    billing_period: BillingPeriod
    pricing_unit: PricingUnit
    unit_price: Price
    vat_mode: VatMode
    min_quantity: int
    max_quantity: int | None
    trial_days: int
    public: bool
    next_unit_price: Price | None = Field(description="A scheduled price change, if any.")
    next_price_effective_on: date | None = Field(description="When the next price applies.")

    @model_validator(mode="after")
    def _as_of_today(self) -> PlanRead:
        # A scheduled change whose day has come is simply the price now (rows are not rewritten).
        price = domain.Price(
            self.unit_price, self.next_unit_price, self.next_price_effective_on
        ).settled(datetime.now(UTC).date())
        self.unit_price, self.next_unit_price = price.current, price.next
        self.next_price_effective_on = price.next_on
        return self


class RevisionRead(ResponseModel):
    number: int
    status: RevisionStatus
    content: dict[str, Any] = Field(description="The fields as this revision proposes them.")
    rejection_reason: str | None
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None


class ProductRead(ResponseModel):
    id: uuid.UUID
    partner_id: uuid.UUID
    slug: str
    name: str
    short_description: str
    description: str
    category: str
    tags: list[str]
    media: list[MediaLink]
    documentation_url: str | None
    support: SupportContacts | None
    status: ProductStatus
    version: int
    plans: list[PlanRead]
    live_revision: int | None = Field(description="The approved revision the storefront shows.")
    published_at: datetime | None = Field(description="When it first appeared on the storefront.")
    pending_revision: RevisionRead | None = Field(
        description="The revision being edited or reviewed, if any."
    )
    created_at: datetime
    updated_at: datetime


class ProductPage(ResponseModel):
    items: list[ProductRead]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
