"""A partner reads its settlements; the operator reads all and sets commission rates."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from billing.dependencies import SettingsDep
from billing.settlements import service
from billing.settlements.schemas import RatesRead, RateWrite, SettlementPage, SettlementRead
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["settlements"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Caller, requires("billing:read")]
Writer = Annotated[Caller, requires("billing:write")]


@router.get("/settlements", response_model=SettlementPage)
async def list_settlements(
    caller: Reader,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    partner_id: Annotated[uuid.UUID | None, Query(description="Operator: one partner's.")] = None,
) -> SettlementPage:
    """The caller's settlements (agent's reports), newest first."""
    items, next_cursor = await service.settlements_page(
        session, caller, cursor=cursor, limit=limit, partner_id=partner_id
    )
    return SettlementPage(
        items=[SettlementRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.get("/settlements/{settlement_id}", response_model=SettlementRead)
async def get_settlement(
    settlement_id: uuid.UUID, caller: Reader, session: SessionDep
) -> SettlementRead:
    return SettlementRead.model_validate(
        await service.get_settlement(session, caller, settlement_id)
    )


async def _rates(
    session: SessionDep, caller: Caller, partner_id: uuid.UUID, settings: SettingsDep
) -> RatesRead:
    rates = await service.partner_rates(
        session, caller, partner_id, default=settings.default_commission_percent
    )
    return RatesRead(
        partner_id=partner_id, default_percent=rates.default, per_product=dict(rates.per_product)
    )


@router.get("/commission-rates/{partner_id}", response_model=RatesRead)
async def get_rates(
    partner_id: uuid.UUID, caller: Reader, session: SessionDep, settings: SettingsDep
) -> RatesRead:
    """A partner's commission: its percent and per-product overrides (its own, or operator)."""
    return await _rates(session, caller, partner_id, settings)


@router.put("/commission-rates/{partner_id}", response_model=RatesRead)
async def set_partner_rate(
    partner_id: uuid.UUID,
    body: RateWrite,
    caller: Writer,
    session: SessionDep,
    settings: SettingsDep,
) -> RatesRead:
    """Operator: the partner's percent, for settlements issued from now on."""
    await service.set_partner_rate(session, caller, partner_id, body.percent)
    return await _rates(session, caller, partner_id, settings)


@router.put("/commission-rates/products/{product_id}", response_model=RatesRead)
async def set_product_rate(
    product_id: uuid.UUID,
    body: RateWrite,
    caller: Writer,
    session: SessionDep,
    settings: SettingsDep,
) -> RatesRead:
    """Operator: one product's percent, overriding its partner's."""
    partner_id = await service.set_product_rate(session, caller, product_id, body.percent)
    return await _rates(session, caller, partner_id, settings)
