"""What a subscription's transition tells the world: its contract events, via the outbox.

Every event carries the whole snapshot *as of* its ``effective_at`` (for a cancellation or a
change scheduled for the period end, that is the future state: billing learns it before it
invoices the next period). All events of one transition carry the transition's version as their
aggregate version: they describe one stored state (a trial's ``created`` and ``activated``), so a
consumer ordering by version skips only *lower* versions; its inbox tells the two apart by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orders.subscriptions.domain import (
    CancellationMode,
    Subscription,
    SubscriptionEvent,
    SuspensionReason,
    Transition,
)
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.orders import (
    ProvisioningRecord,
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionCreated,
    SubscriptionExpired,
    SubscriptionResumed,
    SubscriptionSnapshot,
    SubscriptionSuspended,
)
from vitrina_kit.outbox import Outgoing, add_events


def snapshot(
    subscription: Subscription, effective_at: datetime | None = None
) -> SubscriptionSnapshot:
    """``subscription`` as the contract carries it, effective at ``effective_at`` (by default
    the moment its status took effect)."""
    cancellation = subscription.scheduled_cancellation
    provisioning = subscription.provisioning
    return SubscriptionSnapshot(
        subscription_id=subscription.subscription_id,
        customer_id=subscription.customer_id,
        partner_id=subscription.partner_id,
        product_id=subscription.product_id,
        plan_id=subscription.plan_id,
        order_id=subscription.order_id,
        quantity=subscription.quantity,
        period_anchor=subscription.period_anchor,
        status=subscription.status.value,
        effective_at=effective_at or subscription.status_since,
        trial_ends_on=subscription.trial_ends_on,
        cancellation_scheduled_at=cancellation.effective_at if cancellation else None,
        provisioning=(
            ProvisioningRecord(
                outcome=provisioning.outcome.value,
                message=provisioning.message,
                recorded_at=provisioning.recorded_at,
            )
            if provisioning
            else None
        ),
    )


def events_of(transition: Transition) -> list[Event]:
    """The contract events ``transition`` publishes, in order (none for a silent one)."""
    state = snapshot(transition.announced, transition.effective_at)
    return [_event(kind, state, transition) for kind in transition.events]


def _event(kind: SubscriptionEvent, state: SubscriptionSnapshot, transition: Transition) -> Event:
    match kind:
        case SubscriptionEvent.CREATED:
            return SubscriptionCreated(subscription=state)
        case SubscriptionEvent.ACTIVATED:
            return SubscriptionActivated(subscription=state)
        case SubscriptionEvent.CHANGED:
            assert transition.previous_plan_id is not None  # the domain sets both with changed
            assert transition.previous_quantity is not None
            return SubscriptionChanged(
                subscription=state,
                previous_plan_id=transition.previous_plan_id,
                previous_quantity=transition.previous_quantity,
            )
        case SubscriptionEvent.SUSPENDED:
            reason = transition.suspension_reason or SuspensionReason.NON_PAYMENT
            return SubscriptionSuspended(subscription=state, reason=reason.value)
        case SubscriptionEvent.RESUMED:
            return SubscriptionResumed(subscription=state)
        case SubscriptionEvent.CANCELLED:
            mode = transition.cancellation_mode or CancellationMode.IMMEDIATE
            return SubscriptionCancelled(
                subscription=state, mode=mode.value, reason=transition.cancellation_reason
            )
        case SubscriptionEvent.EXPIRED:
            return SubscriptionExpired(subscription=state)


async def publish(session: AsyncSession, transition: Transition) -> None:
    """Write ``transition``'s events to the outbox, in the caller's transaction."""
    await publish_all(session, [transition])


async def publish_all(session: AsyncSession, transitions: Sequence[Transition]) -> None:
    """Write the events of ``transitions`` to the outbox, in order, in one statement."""
    await add_events(
        session,
        [
            Outgoing(
                event,
                subject=str(transition.subscription.subscription_id),
                aggregate_version=transition.subscription.version,
                tenant_id=str(transition.subscription.customer_id),
            )
            for transition in transitions
            for event in events_of(transition)
        ],
    )
