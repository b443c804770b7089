"""What the settlements and commission rates API takes and returns."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from vitrina_contracts.events.billing import SettlementIssued
from vitrina_kit.api import RequestModel, ResponseModel


class SettlementRead(ResponseModel):
    settlement_id: uuid.UUID
    number: str
    partner_id: uuid.UUID
    period_starts_on: date
    period_ends_on: date = Field(description="The first day after the period.")
    gross_sales: Decimal = Field(description="Closing documents net of VAT, minus credits.")
    commission: Decimal
    payout: Decimal
    created_at: datetime
    document: SettlementIssued


class SettlementPage(ResponseModel):
    items: list[SettlementRead]
    next_cursor: str | None


class RateWrite(RequestModel):
    percent: Decimal = Field(
        description="The marketplace's commission, 0–100, at most two decimals.", max_digits=5
    )


class RatesRead(ResponseModel):
    partner_id: uuid.UUID
    default_percent: Decimal = Field(description="The partner's own, or the marketplace's.")
    per_product: dict[uuid.UUID, Decimal]
