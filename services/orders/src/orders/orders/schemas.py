from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer

from orders.orders.domain import MAX_LINES
from vitrina_kit.api import RequestModel, ResponseModel

Price = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")]

MAX_QUANTITY = 1_000_000
"""A sanity bound on any quantity; each plan's own limits are checked by the order's review."""


class OrderLineCreate(RequestModel):
    plan_id: uuid.UUID
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    product_id: uuid.UUID | None = Field(
        default=None,
        description="The product the plan is expected to belong to; a plan of another product "
        "is refused (it catches an id copied from the wrong product page).",
    )


class OrderCreate(RequestModel):
    lines: list[OrderLineCreate] = Field(min_length=1, max_length=MAX_LINES)
    purchase_order_ref: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The buyer's own purchase-order number, printed on its invoices.",
    )


class OrderLineRead(ResponseModel):
    line_no: int
    product_id: uuid.UUID
    plan_id: uuid.UUID
    product_name: str
    plan_name: str
    billing_period: str
    quantity: int
    unit_price: Price
    """One unit for one period, without VAT, as of the order's day."""
    subscription_id: uuid.UUID | None


class OrderRead(ResponseModel):
    order_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    purchase_order_ref: str | None
    placed_at: datetime
    lines: list[OrderLineRead]


class OrderPage(ResponseModel):
    items: list[OrderRead]
    next_cursor: str | None
