"""Subscriptions' use cases: reading them, and the customer's and operator's commands.

Callers own the transaction; this module only writes through the repository (which flushes
each statement). Every command first applies what came due by now (a cancellation at period
end, a trial's end, a scheduled change), so it never acts on a state the calendar has left
behind, then lets the domain decide, then stores the transition and its events together.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from http import HTTPStatus

from sqlalchemy.ext.asyncio import AsyncSession

from orders.catalog.repository import offered_plans
from orders.orders.domain import OfferedPlan, ProductStatus
from orders.subscriptions import events, repository
from orders.subscriptions.domain import (
    CancellationMode,
    ChangeTiming,
    PlanTerms,
    Subscription,
    SubscriptionStatus,
    SuspensionReason,
    Transition,
    day_of,
)
from vitrina_kit.auth import Caller
from vitrina_kit.pagination import decode_cursor, encode_cursor
from vitrina_kit.problems import Conflict, DomainError, NotFound, UnprocessableEntity

Decision = Callable[[Subscription], Awaitable[Transition]]


# Storing -------------------------------------------------------------------------------------


async def create(session: AsyncSession, transition: Transition) -> Subscription:
    """Store a new subscription (``Subscription.create``'s transition) and announce it."""
    [subscription] = await create_all(session, [transition])
    return subscription


async def create_all(
    session: AsyncSession, transitions: Sequence[Transition]
) -> list[Subscription]:
    """Store new subscriptions (``Subscription.create``'s transitions) in one statement, and
    announce each."""
    await repository.add_all(
        session, [(transition.subscription, transition.effective_at) for transition in transitions]
    )
    await events.publish_all(session, transitions)
    return [transition.subscription for transition in transitions]


async def store(session: AsyncSession, transition: Transition) -> Subscription:
    """Store ``transition`` over the version it was decided on and publish its events."""
    await repository.save(session, transition.subscription)
    await events.publish(session, transition)
    return transition.subscription


async def catch_up(
    session: AsyncSession, subscription: Subscription, *, to: datetime
) -> Subscription:
    """Apply, step by step, everything that came due by ``to``; the subscription after it."""
    while (transition := subscription.advance(to=to)) is not None:
        subscription = await store(session, transition)
    return subscription


# Reading -------------------------------------------------------------------------------------


async def get_subscription(
    session: AsyncSession, caller: Caller, subscription_id: uuid.UUID
) -> Subscription:
    subscription = await repository.get(session, subscription_id, caller=caller)
    if subscription is None:
        raise SubscriptionNotFound(subscription_id)
    return subscription


async def list_subscriptions(
    session: AsyncSession,
    caller: Caller,
    *,
    cursor: str | None,
    limit: int,
    status: SubscriptionStatus | None,
) -> tuple[list[Subscription], str | None]:
    """A page of the subscriptions the caller may see, oldest first, and the next cursor."""
    rows = await repository.page(
        session, caller, after=decode_cursor(cursor), limit=limit + 1, status=status
    )
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = None
    if more:
        last, created_at = rows[-1]
        next_cursor = encode_cursor((created_at, last.subscription_id))
    return [subscription for subscription, _ in rows], next_cursor


# The customer's commands ---------------------------------------------------------------------


async def change_seats(
    session: AsyncSession,
    caller: Caller,
    subscription_id: uuid.UUID,
    *,
    quantity: int,
    timing: ChangeTiming | None,
    if_match: int | None,
    now: datetime,
) -> Subscription:
    async def decide(subscription: Subscription) -> Transition:
        plan = await _current_plan(session, subscription, now=now)
        return subscription.change_seats(plan=plan, quantity=quantity, at=now, timing=timing)

    return await _command(session, caller, subscription_id, if_match, now, decide)


async def change_plan(
    session: AsyncSession,
    caller: Caller,
    subscription_id: uuid.UUID,
    *,
    plan_id: uuid.UUID,
    quantity: int | None,
    timing: ChangeTiming | None,
    if_match: int | None,
    now: datetime,
) -> Subscription:
    async def decide(subscription: Subscription) -> Transition:
        current = await _current_plan(session, subscription, now=now)
        new = (await offered_plans(session, [plan_id], on=day_of(now))).get(plan_id)
        if new is None or not new.public or new.product_status is not ProductStatus.PUBLISHED:
            raise PlanNotOffered(plan_id)
        return subscription.change_plan(
            current=current, new=new.terms, quantity=quantity, at=now, timing=timing
        )

    return await _command(session, caller, subscription_id, if_match, now, decide)


async def cancel(
    session: AsyncSession,
    caller: Caller,
    subscription_id: uuid.UUID,
    *,
    mode: CancellationMode,
    reason: str,
    if_match: int | None,
    now: datetime,
) -> Subscription:
    async def decide(subscription: Subscription) -> Transition:
        return subscription.cancel(at=now, mode=mode, reason=reason)

    return await _command(session, caller, subscription_id, if_match, now, decide)


async def reactivate(
    session: AsyncSession,
    caller: Caller,
    subscription_id: uuid.UUID,
    *,
    if_match: int | None,
    now: datetime,
) -> Subscription:
    async def decide(subscription: Subscription) -> Transition:
        return subscription.reactivate(at=now)

    return await _command(session, caller, subscription_id, if_match, now, decide)


async def withdraw_change(
    session: AsyncSession,
    caller: Caller,
    subscription_id: uuid.UUID,
    *,
    if_match: int | None,
    now: datetime,
) -> Subscription:
    async def decide(subscription: Subscription) -> Transition:
        return subscription.withdraw_change(at=now)

    return await _command(session, caller, subscription_id, if_match, now, decide)


# The operator's commands ---------------------------------------------------------------------


async def suspend(
    session: AsyncSession,
    caller: Caller,
    subscription_id: uuid.UUID,
    *,
    if_match: int | None,
    now: datetime,
) -> Subscription:
    async def decide(subscription: Subscription) -> Transition:
        return subscription.suspend(reason=SuspensionReason.OPERATOR, at=now)

    return await _command(session, caller, subscription_id, if_match, now, decide, by_operator=True)


async def resume(
    session: AsyncSession,
    caller: Caller,
    subscription_id: uuid.UUID,
    *,
    if_match: int | None,
    now: datetime,
) -> Subscription:
    async def decide(subscription: Subscription) -> Transition:
        return subscription.resume(at=now, lifting=SuspensionReason.OPERATOR)

    return await _command(session, caller, subscription_id, if_match, now, decide, by_operator=True)


# Internals -----------------------------------------------------------------------------------


async def _command(
    session: AsyncSession,
    caller: Caller,
    subscription_id: uuid.UUID,
    if_match: int | None,
    now: datetime,
    decide: Decision,
    *,
    by_operator: bool = False,
) -> Subscription:
    subscription = await get_subscription(session, caller, subscription_id)
    if by_operator and not caller.is_operator:
        raise OnlyTheOperator()
    if not by_operator and caller.organization_id != subscription.customer_id:
        # The partner and the operator read it; only the customer decides about it.
        raise OnlyTheCustomer()
    if if_match is not None:
        # Against what the client read, before the calendar moves the version on.
        subscription.expect_version(if_match)
    subscription = await catch_up(session, subscription, to=now)
    return await store(session, await decide(subscription))


async def _current_plan(
    session: AsyncSession, subscription: Subscription, *, now: datetime
) -> PlanTerms:
    """The subscription's own plan as the catalog offers it today (a retired product's plans
    still count: its subscribers keep them)."""
    plan: OfferedPlan | None = (
        await offered_plans(session, [subscription.plan_id], on=day_of(now))
    ).get(subscription.plan_id)
    if plan is None:
        raise PlanWithdrawn(subscription.plan_id)
    return plan.terms


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    title = "Subscription not found"

    def __init__(self, subscription_id: uuid.UUID) -> None:
        super().__init__(f"There is no subscription {subscription_id} you can see.")


class OnlyTheCustomer(DomainError):
    status = HTTPStatus.FORBIDDEN
    code = "only_the_customer"
    title = "Only the subscribing organization changes its subscription"

    def __init__(self) -> None:
        super().__init__("Seats, plan and cancellation are the customer's decisions.")


class OnlyTheOperator(DomainError):
    status = HTTPStatus.FORBIDDEN
    code = "operator_only"
    title = "Only the marketplace operator may do this"

    def __init__(self) -> None:
        super().__init__("Suspending and lifting a suspension is the operator's decision.")


class PlanNotOffered(UnprocessableEntity):
    code = "plan_not_offered"
    title = "The plan cannot be subscribed to"

    def __init__(self, plan_id: uuid.UUID) -> None:
        super().__init__(
            f"The plan {plan_id} is not on sale: unknown, not public, or its product retired."
        )


class PlanWithdrawn(Conflict):
    code = "plan_withdrawn"
    title = "The subscription's plan is no longer in the catalog"

    def __init__(self, plan_id: uuid.UUID) -> None:
        super().__init__(f"The plan {plan_id} was removed from the catalog; the operator can help.")
