"""Storing and reading subscriptions: the one place a row becomes a domain object and back.

Writes are compare-and-set on the version the change was decided on, so two requests (or a
request and a consumed event) that read the same state cannot both store their change: the
second finds no row at its version and gets the domain's version conflict (409).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from orders.subscriptions.domain import (
    BillingPeriod,
    Provisioning,
    ProvisioningOutcome,
    ScheduledCancellation,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    SubscriptionVersionConflict,
    SuspensionReason,
)
from orders.subscriptions.models import SubscriptionRow
from vitrina_kit.auth import Caller, OrganizationKind

Position = tuple[datetime, uuid.UUID]


def to_domain(row: SubscriptionRow) -> Subscription:
    """The domain's subscription as the row holds it."""
    cancellation = None
    if row.cancellation_effective_on is not None and row.cancellation_requested_at is not None:
        cancellation = ScheduledCancellation(
            effective_on=row.cancellation_effective_on,
            requested_at=row.cancellation_requested_at,
            reason=row.cancellation_reason or "",
        )
    change = None
    if (
        row.change_plan_id is not None
        and row.change_billing_period is not None
        and row.change_quantity is not None
        and row.change_effective_on is not None
    ):
        change = ScheduledChange(
            plan_id=row.change_plan_id,
            billing_period=BillingPeriod(row.change_billing_period),
            quantity=row.change_quantity,
            effective_on=row.change_effective_on,
        )
    provisioning = None
    if row.provisioning_outcome is not None and row.provisioning_recorded_at is not None:
        provisioning = Provisioning(
            outcome=ProvisioningOutcome(row.provisioning_outcome),
            message=row.provisioning_message or "",
            recorded_at=row.provisioning_recorded_at,
        )
    return Subscription(
        subscription_id=row.subscription_id,
        customer_id=row.customer_id,
        partner_id=row.partner_id,
        product_id=row.product_id,
        plan_id=row.plan_id,
        billing_period=BillingPeriod(row.billing_period),
        quantity=row.quantity,
        started_on=row.started_on,
        period_anchor=row.period_anchor,
        status=SubscriptionStatus(row.status),
        status_since=row.status_since,
        version=row.version,
        order_id=row.order_id,
        trial_ends_on=row.trial_ends_on,
        suspension_reason=(
            SuspensionReason(row.suspension_reason) if row.suspension_reason else None
        ),
        scheduled_cancellation=cancellation,
        scheduled_change=change,
        provisioning=provisioning,
    )


def values_of(subscription: Subscription) -> dict[str, Any]:
    """The row's columns for ``subscription`` (all but ``created_at``, set once on insert)."""
    cancellation = subscription.scheduled_cancellation
    change = subscription.scheduled_change
    provisioning = subscription.provisioning
    return {
        "subscription_id": subscription.subscription_id,
        "customer_id": subscription.customer_id,
        "partner_id": subscription.partner_id,
        "product_id": subscription.product_id,
        "plan_id": subscription.plan_id,
        "order_id": subscription.order_id,
        "billing_period": str(subscription.billing_period),
        "quantity": subscription.quantity,
        "started_on": subscription.started_on,
        "period_anchor": subscription.period_anchor,
        "trial_ends_on": subscription.trial_ends_on,
        "status": str(subscription.status),
        "status_since": subscription.status_since,
        "suspension_reason": (
            str(subscription.suspension_reason) if subscription.suspension_reason else None
        ),
        "cancellation_effective_on": cancellation.effective_on if cancellation else None,
        "cancellation_requested_at": cancellation.requested_at if cancellation else None,
        "cancellation_reason": cancellation.reason if cancellation else None,
        "change_plan_id": change.plan_id if change else None,
        "change_billing_period": str(change.billing_period) if change else None,
        "change_quantity": change.quantity if change else None,
        "change_effective_on": change.effective_on if change else None,
        "provisioning_outcome": str(provisioning.outcome) if provisioning else None,
        "provisioning_message": provisioning.message if provisioning else None,
        "provisioning_recorded_at": provisioning.recorded_at if provisioning else None,
        "next_due_at": subscription.next_due_at,
        "version": subscription.version,
    }


async def add(session: AsyncSession, subscription: Subscription, *, created_at: datetime) -> None:
    """Store a new subscription."""
    await add_all(session, [(subscription, created_at)])


async def add_all(session: AsyncSession, created: Sequence[tuple[Subscription, datetime]]) -> None:
    """Store new subscriptions, each with the instant it was created, in one statement (one
    round trip, however many there are)."""
    await session.execute(
        # Every row with all its columns (NULLs too), so all go in one batch.
        insert(SubscriptionRow).execution_options(render_nulls=True),
        [{**values_of(subscription), "created_at": at} for subscription, at in created],
    )


async def save(session: AsyncSession, subscription: Subscription) -> None:
    """Store ``subscription`` over the version just before it, or raise the version conflict.

    Under READ COMMITTED a concurrent writer's UPDATE waits for ours to commit and then finds
    the version moved on: exactly one of them stores its change.
    """
    previous = subscription.version - 1
    stored = await session.scalar(
        update(SubscriptionRow)
        .where(
            SubscriptionRow.subscription_id == subscription.subscription_id,
            SubscriptionRow.version == previous,
        )
        .values(**values_of(subscription))
        .returning(SubscriptionRow.subscription_id)
    )
    if stored is None:
        current = await get(session, subscription.subscription_id)
        raise SubscriptionVersionConflict(current or subscription, previous)


def visible_to(caller: Caller) -> ColumnElement[bool]:
    """What the caller may read: its own subscriptions (a business), those to its products (a
    partner), every one (the operator). Anything else does not exist for it (404)."""
    match caller.organization_kind:
        case OrganizationKind.OPERATOR:
            return true()
        case OrganizationKind.PARTNER:
            return SubscriptionRow.partner_id == caller.organization_id
        case _:
            return SubscriptionRow.customer_id == caller.organization_id


async def get(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    caller: Caller | None = None,
    for_update: bool = False,
) -> Subscription | None:
    """The subscription, if it exists and (given a caller) the caller may see it."""
    query = select(SubscriptionRow).where(SubscriptionRow.subscription_id == subscription_id)
    if caller is not None:
        query = query.where(visible_to(caller))
    if for_update:
        query = query.with_for_update()
    # Always the database's current state, not a row the session read earlier.
    row = await session.scalar(query.execution_options(populate_existing=True))
    return None if row is None else to_domain(row)


async def page(
    session: AsyncSession,
    caller: Caller,
    *,
    after: Position | None,
    limit: int,
    status: SubscriptionStatus | None,
) -> Sequence[tuple[Subscription, datetime]]:
    """Up to ``limit`` subscriptions the caller may see, oldest first, each with its position."""
    query = select(SubscriptionRow).where(visible_to(caller))
    if status is not None:
        query = query.where(SubscriptionRow.status == str(status))
    if after is not None:
        query = query.where(
            tuple_(SubscriptionRow.created_at, SubscriptionRow.subscription_id) > tuple_(*after)
        )
    query = query.order_by(SubscriptionRow.created_at, SubscriptionRow.subscription_id)
    rows = (await session.scalars(query.limit(limit))).all()
    return [(to_domain(row), row.created_at) for row in rows]


async def lock_due(session: AsyncSession, *, by: datetime, limit: int) -> list[Subscription]:
    """Lock up to ``limit`` subscriptions with something due by ``by``, soonest first.

    SKIP LOCKED keeps scheduler replicas off each other's rows (and off a row a consumer is
    changing right now: it is picked up next round).
    """
    rows = await session.scalars(
        select(SubscriptionRow)
        .where(and_(SubscriptionRow.next_due_at.is_not(None), SubscriptionRow.next_due_at <= by))
        .order_by(SubscriptionRow.next_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return [to_domain(row) for row in rows]
