"""Orders' use cases. Callers own the transaction; this module only flushes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orders.catalog.repository import offered_plans
from orders.orders import events, repository
from orders.orders.domain import (
    Accepted,
    Buyer,
    OfferedPlan,
    Order,
    OrderLineRecord,
    OrderNotAccepted,
    RequestedLine,
    check_may_order,
    review_order,
)
from orders.orders.models import OrderLineRow, OrderRow
from orders.orders.schemas import OrderCreate
from orders.organizations.repository import get_organization
from orders.subscriptions import service as subscriptions
from orders.subscriptions.domain import Subscription, day_of
from vitrina_kit.auth import Caller
from vitrina_kit.pagination import decode_cursor, encode_cursor
from vitrina_kit.problems import NotFound


async def place_order(
    session: AsyncSession, caller: Caller, data: OrderCreate, *, now: datetime
) -> OrderRow:
    """Review the order against the projections; accepted, store it completed with one new
    subscription per line and announce them all. Rejected: raise with every reason (the
    request's transaction rolls back, so nothing of it is stored)."""
    check_may_order(caller.organization_kind)
    requested = [
        RequestedLine(plan_id=line.plan_id, quantity=line.quantity, product_id=line.product_id)
        for line in data.lines
    ]
    today = day_of(now)
    plans = await offered_plans(session, {line.plan_id for line in requested}, on=today)
    verdict = review_order(
        requested, buyer=await _buyer(session, caller.organization_id), plans=plans
    )
    if not isinstance(verdict, Accepted):
        raise OrderNotAccepted(verdict)

    order = Order.place(
        order_id=uuid.uuid4(), customer_id=caller.organization_id, lines=requested, plans=plans
    )
    created = await subscriptions.create_all(
        session,
        [
            Subscription.create(
                subscription_id=uuid.uuid4(),
                customer_id=order.customer_id,
                partner_id=line.plan.partner_id,
                plan=line.plan.terms,
                quantity=line.quantity,
                starts_on=today,
                at=now,
                order_id=order.order_id,
            )
            for line in verdict.lines
        ],
    )
    order = order.complete(
        {
            line.line_no: subscription.subscription_id
            for line, subscription in zip(verdict.lines, created, strict=True)
        }
    )
    plan_of = {line.line_no: line.plan for line in verdict.lines}
    row = OrderRow(
        order_id=order.order_id,
        customer_id=order.customer_id,
        status=str(order.status),
        purchase_order_ref=data.purchase_order_ref,
        placed_at=now,
        lines=[_line_row(line, plan_of[line.line_no]) for line in order.lines],
    )
    repository.add(session, row)
    await events.publish_completed(session, row)
    return row


async def get_order(session: AsyncSession, caller: Caller, order_id: uuid.UUID) -> OrderRow:
    order = await repository.get_visible(session, caller, order_id)
    if order is None:
        raise OrderNotFound(order_id)
    return order


async def list_orders(
    session: AsyncSession, caller: Caller, *, cursor: str | None, limit: int
) -> tuple[list[OrderRow], str | None]:
    """A page of the caller's orders (all orders for the operator), oldest first."""
    rows = list(
        await repository.page(session, caller, after=decode_cursor(cursor), limit=limit + 1)
    )
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor((rows[-1].placed_at, rows[-1].order_id)) if more else None


def _line_row(line: OrderLineRecord, plan: OfferedPlan) -> OrderLineRow:
    """A line with the terms it was bought on (names and price as of the order's day)."""
    return OrderLineRow(
        line_no=line.line_no,
        product_id=plan.product_id,
        plan_id=plan.plan_id,
        product_name=plan.product_name,
        plan_name=plan.plan_name,
        billing_period=str(plan.billing_period),
        quantity=line.quantity,
        unit_price=plan.unit_price,
        subscription_id=line.subscription_id,
    )


async def _buyer(session: AsyncSession, organization_id: uuid.UUID) -> Buyer | None:
    organization = await get_organization(session, organization_id)
    if organization is None:
        return None
    return Buyer(
        organization_id=organization.organization_id,
        kind=organization.kind,
        status=organization.status,
        inn=organization.inn,
        kpp=organization.kpp,
        legal_address=organization.legal_address,
        edo_participant_id=organization.edo_participant_id,
    )


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"

    def __init__(self, order_id: uuid.UUID) -> None:
        super().__init__(f"There is no order {order_id} you can see.")
