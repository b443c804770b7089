from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from orders.orders import service
from orders.orders.schemas import OrderCreate, OrderPage, OrderRead
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/orders", tags=["orders"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Caller, requires("orders:read")]
Writer = Annotated[Caller, requires("orders:write")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.post("", status_code=201, response_model=OrderRead)
async def place_order(
    body: OrderCreate, caller: Writer, session: SessionDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Order plans of the catalog: accepted, one subscription per line (pending its first
    payment, or in trial); refused, a 422 listing every reason by line, and nothing stored."""
    return await idempotency.respond(
        lambda: service.place_order(session, caller, body, now=datetime.now(UTC)),
        response_model=OrderRead,
        location=lambda order: f"/orders/{order.order_id}",
    )


@router.get("", response_model=OrderPage)
async def list_orders(
    caller: Reader, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
) -> OrderPage:
    """The caller's orders, oldest first (the operator sees every organization's)."""
    items, next_cursor = await service.list_orders(session, caller, cursor=cursor, limit=limit)
    return OrderPage(
        items=[OrderRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.get("/{order_id}", response_model=OrderRead)
async def get_order(order_id: uuid.UUID, caller: Reader, session: SessionDep) -> OrderRead:
    return OrderRead.model_validate(await service.get_order(session, caller, order_id))
