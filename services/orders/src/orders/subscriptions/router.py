from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import AwareDatetime

from orders.dependencies import SessionsDep, SettingsDep
from orders.subscriptions import scheduler, service
from orders.subscriptions.domain import Subscription, SubscriptionStatus
from orders.subscriptions.schemas import (
    Cancellation,
    DueApplied,
    PartnerSubscriptionRead,
    PlanChange,
    SeatsChange,
    SubscriptionPage,
    SubscriptionRead,
    SubscriptionView,
)
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, OrganizationKind, requires
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"], responses=PROBLEM_RESPONSES)
ops_router = APIRouter(
    prefix="/ops/subscriptions", tags=["operations"], responses=PROBLEM_RESPONSES
)

Reader = Annotated[Caller, requires("orders:read")]
Writer = Annotated[Caller, requires("orders:write")]
Operator = Annotated[Caller, requires("ops:read")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=200)]
IfMatch = Annotated[
    str | None,
    Header(
        pattern=r'^"[0-9]{1,9}"$',
        description='The version read (its ETag, e.g. "3"): the change is refused with 409 if '
        "the subscription changed since.",
    ),
]


def view(subscription: Subscription, caller: Caller, now: datetime) -> SubscriptionView:
    if caller.organization_kind is OrganizationKind.PARTNER:
        return PartnerSubscriptionRead.of(subscription)
    return SubscriptionRead.of(subscription, now=now)


def tagged(
    response: Response, subscription: Subscription, caller: Caller, now: datetime
) -> SubscriptionView:
    response.headers["ETag"] = f'"{subscription.version}"'
    return view(subscription, caller, now)


def changed(response: Response, subscription: Subscription, now: datetime) -> SubscriptionRead:
    """A command's answer: only the customer or the operator change one, so the full view."""
    response.headers["ETag"] = f'"{subscription.version}"'
    return SubscriptionRead.of(subscription, now=now)


def version_of(if_match: str | None) -> int | None:
    return None if if_match is None else int(if_match.strip('"'))


@router.get("", response_model=SubscriptionPage)
async def list_subscriptions(
    caller: Reader,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    status: SubscriptionStatus | None = None,
) -> SubscriptionPage:
    """A business's own subscriptions; a partner's customers' subscriptions to its products
    (reduced view); every subscription for the operator. Oldest first."""
    items, next_cursor = await service.list_subscriptions(
        session, caller, cursor=cursor, limit=limit, status=status
    )
    now = datetime.now(UTC)
    return SubscriptionPage(
        items=[view(item, caller, now) for item in items], next_cursor=next_cursor
    )


@router.get("/{subscription_id}", response_model=SubscriptionView)
async def get_subscription(
    subscription_id: uuid.UUID, caller: Reader, session: SessionDep, response: Response
) -> SubscriptionView:
    """One subscription the caller may see; its ETag is its version."""
    subscription = await service.get_subscription(session, caller, subscription_id)
    return tagged(response, subscription, caller, datetime.now(UTC))


@router.post("/{subscription_id}/seats", response_model=SubscriptionRead)
async def change_seats(
    subscription_id: uuid.UUID,
    body: SeatsChange,
    caller: Writer,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> SubscriptionRead:
    """Change the number of seats (more: now; fewer: at the end of the paid period)."""
    now = datetime.now(UTC)
    subscription = await service.change_seats(
        session,
        caller,
        subscription_id,
        quantity=body.quantity,
        timing=body.timing,
        if_match=version_of(if_match),
        now=now,
    )
    return changed(response, subscription, now)


@router.post("/{subscription_id}/plan", response_model=SubscriptionRead)
async def change_plan(
    subscription_id: uuid.UUID,
    body: PlanChange,
    caller: Writer,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> SubscriptionRead:
    """Move to another plan of the same product (upgrade: now; downgrade: at period end)."""
    now = datetime.now(UTC)
    subscription = await service.change_plan(
        session,
        caller,
        subscription_id,
        plan_id=body.plan_id,
        quantity=body.quantity,
        timing=body.timing,
        if_match=version_of(if_match),
        now=now,
    )
    return changed(response, subscription, now)


@router.post("/{subscription_id}/cancel", response_model=SubscriptionRead)
async def cancel_subscription(
    subscription_id: uuid.UUID,
    caller: Writer,
    session: SessionDep,
    response: Response,
    body: Cancellation | None = None,
    if_match: IfMatch = None,
) -> SubscriptionRead:
    """Cancel at the end of the paid period (the default), or immediately."""
    body = body or Cancellation()
    now = datetime.now(UTC)
    subscription = await service.cancel(
        session,
        caller,
        subscription_id,
        mode=body.mode,
        reason=body.reason,
        if_match=version_of(if_match),
        now=now,
    )
    return changed(response, subscription, now)


@router.post("/{subscription_id}/reactivate", response_model=SubscriptionRead)
async def reactivate_subscription(
    subscription_id: uuid.UUID,
    caller: Writer,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> SubscriptionRead:
    """Withdraw a cancellation scheduled for the period end, before it takes effect."""
    now = datetime.now(UTC)
    subscription = await service.reactivate(
        session, caller, subscription_id, if_match=version_of(if_match), now=now
    )
    return changed(response, subscription, now)


@router.post("/{subscription_id}/withdraw-change", response_model=SubscriptionRead)
async def withdraw_change(
    subscription_id: uuid.UUID,
    caller: Writer,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> SubscriptionRead:
    """Drop a seat or plan change scheduled for the period end."""
    now = datetime.now(UTC)
    subscription = await service.withdraw_change(
        session, caller, subscription_id, if_match=version_of(if_match), now=now
    )
    return changed(response, subscription, now)


@router.post("/{subscription_id}/suspend", response_model=SubscriptionRead)
async def suspend_subscription(
    subscription_id: uuid.UUID,
    caller: Writer,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> SubscriptionRead:
    """Operator: stop the service until the operator lifts the suspension."""
    now = datetime.now(UTC)
    subscription = await service.suspend(
        session, caller, subscription_id, if_match=version_of(if_match), now=now
    )
    return changed(response, subscription, now)


@router.post("/{subscription_id}/resume", response_model=SubscriptionRead)
async def resume_subscription(
    subscription_id: uuid.UUID,
    caller: Writer,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> SubscriptionRead:
    """Operator: lift the operator's own suspension (a payment lifts one for non-payment)."""
    now = datetime.now(UTC)
    subscription = await service.resume(
        session, caller, subscription_id, if_match=version_of(if_match), now=now
    )
    return changed(response, subscription, now)


@ops_router.post("/advance", response_model=DueApplied)
async def advance_subscriptions(
    _: Operator,
    sessions: SessionsDep,
    settings: SettingsDep,
    to: Annotated[AwareDatetime | None, Query(description="Default: now.")] = None,
) -> DueApplied:
    """Operator: apply now what is due by ``to`` (what the worker's scheduler does every
    minute): scheduled cancellations and changes, trial ends, grace periods run out. A ``to``
    in the future moves the subscriptions' calendar forward; used by tests and demos."""
    to = to or datetime.now(UTC)
    applied = await scheduler.apply_due(
        sessions,
        to=to,
        grace_days=settings.suspension_grace_days,
        batch_size=settings.scheduler_batch_size,
    )
    return DueApplied(to=to, advanced=applied.advanced, dunned=applied.dunned)
