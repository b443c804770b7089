"""What an order tells the world.

Only ``order.completed`` is published. An order is reviewed in the request that places it and,
accepted, completed in the same transaction, so ``order.placed`` would announce a state no one
could ever observe; a rejected order is answered 422 and not stored at all, so there is nothing
for ``order.rejected`` to report. Both stay in the contract for an asynchronous intake (orders
placed by a batch import, say) that would review them later.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from orders.orders.models import OrderRow
from vitrina_contracts.events.orders import OrderCompleted, OrderLine, OrderSnapshot
from vitrina_kit.outbox import add_event

ORDER_VERSION = 1
"""An order is written once, completed: its only event is its first and last version."""


def snapshot(order: OrderRow) -> OrderSnapshot:
    return OrderSnapshot(
        order_id=order.order_id,
        customer_id=order.customer_id,
        status="completed",
        placed_at=order.placed_at,
        lines=tuple(
            OrderLine(
                line_no=line.line_no,
                product_id=line.product_id,
                plan_id=line.plan_id,
                quantity=line.quantity,
                subscription_id=line.subscription_id,
            )
            for line in order.lines
        ),
    )


async def publish_completed(session: AsyncSession, order: OrderRow) -> None:
    await add_event(
        session,
        OrderCompleted(order=snapshot(order)),
        subject=str(order.order_id),
        aggregate_version=ORDER_VERSION,
        tenant_id=str(order.customer_id),
    )
