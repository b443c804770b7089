from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer, model_validator

from catalog.products.domain import BillingPeriod, PricingUnit, ProductStatus, VatMode
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


class ProductCreate(RequestModel):
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    short_description: str = Field(default="", max_length=500)
    category: Slug
    plans: list[PlanCreate] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _unique_plan_codes(self) -> ProductCreate:
        codes = [plan.code for plan in self.plans]
        if len(set(codes)) != len(codes):
            raise ValueError("plan codes must be unique within a product")
        return self


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


class ProductRead(ResponseModel):
    id: uuid.UUID
    partner_id: uuid.UUID
    slug: str
    name: str
    short_description: str
    category: str
    status: ProductStatus
    version: int
    plans: list[PlanRead]
    created_at: datetime
    updated_at: datetime
