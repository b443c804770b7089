"""Storing and reading orders, scoped to the caller's organization in the query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from orders.orders.models import OrderRow
from vitrina_kit.auth import Caller
from vitrina_kit.pagination import Position
from vitrina_kit.tenancy import visible_to


def add(session: AsyncSession, order: OrderRow) -> OrderRow:
    """Add the order (its lines with it) to the unit of work.

    Not flushed here: it is written with everything else pending at the commit (its events,
    the audit row), one INSERT per table, instead of in a round trip of its own.
    """
    session.add(order)
    return order


async def get_visible(
    session: AsyncSession, caller: Caller, order_id: uuid.UUID
) -> OrderRow | None:
    """The order if the caller placed it (or is the operator); others' ids find nothing."""
    query = select(OrderRow).where(
        OrderRow.order_id == order_id, visible_to(caller, OrderRow.customer_id)
    )
    return (await session.scalars(query)).one_or_none()


async def page(
    session: AsyncSession, caller: Caller, *, after: Position | None, limit: int
) -> Sequence[OrderRow]:
    """Up to ``limit`` of the caller's orders (everyone's for the operator), oldest first."""
    query = select(OrderRow).where(visible_to(caller, OrderRow.customer_id))
    if after is not None:
        query = query.where(tuple_(OrderRow.placed_at, OrderRow.order_id) > tuple_(*after))
    query = query.order_by(OrderRow.placed_at, OrderRow.order_id).limit(limit)
    return (await session.scalars(query)).all()
