"""Applying orders' subscription events to billing's copy, newest version wins."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.subscriptions.domain import record, service_bounds
from billing.subscriptions.models import Subscription
from vitrina_contracts.events.orders import SubscriptionSnapshot


def day_of(at: datetime) -> date:
    """Orders reads period boundaries in UTC (its BOUNDARY_TZ); so does billing."""
    return at.astimezone(UTC).date()


async def apply_subscription(
    session: AsyncSession, snapshot: SubscriptionSnapshot, *, version: int
) -> Subscription | None:
    """Record what ``snapshot`` says about the service from its effective day on, unless a
    newer version is here; the row (locked for the rest of the transaction) if applied.

    The row lock serializes two consumers applying events of one subscription, so the entries
    are always read and written by one of them at a time.
    """
    held = await session.scalar(
        select(Subscription)
        .where(Subscription.subscription_id == snapshot.subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if held is not None and held.version >= version:
        return None  # stale or repeated
    cancellation = snapshot.cancellation_scheduled_at
    entries = record(
        held.service if held is not None else (),
        status=snapshot.status,
        effective_on=day_of(snapshot.effective_at),
        plan_id=snapshot.plan_id,
        quantity=snapshot.quantity,
        period_anchor=snapshot.period_anchor,
        ends_on=day_of(cancellation) if cancellation is not None else None,
    )
    if held is None:
        held = Subscription(
            subscription_id=snapshot.subscription_id,
            starts_on=day_of(snapshot.effective_at),
        )
        session.add(held)
    held.customer_id = snapshot.customer_id
    held.partner_id = snapshot.partner_id
    held.product_id = snapshot.product_id
    held.plan_id = snapshot.plan_id
    held.quantity = snapshot.quantity
    held.period_anchor = snapshot.period_anchor
    held.status = snapshot.status
    held.entries = [entry.to_json() for entry in entries]
    held.service_starts_on, held.service_ends_on = service_bounds(entries)
    held.version = version
    await session.flush()
    return held
