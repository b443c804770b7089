from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer

from vitrina_kit.api import ResponseModel

Price = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")]


class CatalogPlanRead(ResponseModel):
    plan_id: uuid.UUID
    code: str
    name: str
    billing_period: str
    pricing_unit: str
    unit_price: Price
    vat_mode: str
    min_quantity: int
    max_quantity: int | None
    trial_days: int
    public: bool


class CatalogProductRead(ResponseModel):
    product_id: uuid.UUID
    partner_id: uuid.UUID
    slug: str
    name: str
    category: str
    status: str
    version: int
    plans: list[CatalogPlanRead]
