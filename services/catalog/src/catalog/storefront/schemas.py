from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from catalog.products.domain import BillingPeriod, PricingUnit, ProductStatus, VatMode
from catalog.products.schemas import MediaLink, PlanRead, Price, SupportContacts
from vitrina_kit.api import ResponseModel


class FromPrice(ResponseModel):
    """The cheapest plan matching the filters: "from 590.00 ₽ per vCPU a month"."""

    unit_price: Price = Field(description="Without VAT, as of today.")
    pricing_unit: PricingUnit
    billing_period: BillingPeriod
    vat_mode: VatMode


class StorefrontProduct(ResponseModel):
    id: uuid.UUID
    slug: str
    name: str
    short_description: str
    category: str
    partner_id: uuid.UUID = Field(description="The organization that supplies the product.")
    partner_name: str | None = Field(
        description="The supplier's name; null until the catalog has heard of it from identity."
    )
    tags: list[str]
    from_price: FromPrice
    has_trial: bool = Field(description="Whether any public plan starts with a free trial.")
    published_at: datetime | None


class StorefrontPage(ResponseModel):
    items: list[StorefrontProduct]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= (with the same filters and sort) for the next page; "
        "null on the last page."
    )


class StorefrontProductDetail(ResponseModel):
    id: uuid.UUID
    slug: str
    name: str
    short_description: str
    description: str
    category: str
    partner_id: uuid.UUID
    partner_name: str | None
    tags: list[str]
    media: list[MediaLink]
    documentation_url: str | None
    support: SupportContacts | None
    status: ProductStatus = Field(description="published, or retired (readable, not for sale).")
    orderable: bool = Field(description="False once the product is retired.")
    published_at: datetime | None
    plans: list[PlanRead] = Field(description="The public plans, prices as of today.")
