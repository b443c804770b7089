"""Applying what came due: the worker's periodic job, and the operator's "advance to" command.

Two kinds of due work, each in small transactions of its own:

- subscriptions whose ``next_due_at`` has passed: a cancellation at period end, a trial's end,
  a scheduled seat or plan change (``Subscription.advance``, step by step);
- overdue invoices whose grace period is over: what they bill is suspended (or, never paid,
  expires: ``Subscription.payment_overdue``).

Rows are taken with ``FOR UPDATE SKIP LOCKED``, so replicas running the job at once share the
work instead of repeating it, and a row a consumer or another replica holds waits for the next
round rather than blocking this one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.settings import OrdersSettings
from orders.subscriptions import dunning, repository
from orders.subscriptions.service import catch_up, store
from vitrina_kit.db import transaction
from vitrina_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    """What one round did: subscriptions advanced, overdue invoices acted on."""

    advanced: int = 0
    dunned: int = 0


async def advance_due(session: AsyncSession, *, to: datetime, limit: int) -> int:
    """Apply what is due by ``to`` on up to ``limit`` subscriptions; how many were taken."""
    due = await repository.lock_due(session, by=to, limit=limit)
    for subscription in due:
        await catch_up(session, subscription, to=to)
    return len(due)


async def suspend_overdue(
    session: AsyncSession, *, to: datetime, grace_days: int, limit: int
) -> int:
    """Act on up to ``limit`` overdue invoices whose grace is over by ``to``; how many."""
    invoices = await dunning.lock_grace_over(session, by=to, grace_days=grace_days, limit=limit)
    for invoice in invoices:
        subscription = await repository.get(session, invoice.subscription_id, for_update=True)
        if subscription is not None:
            subscription = await catch_up(session, subscription, to=to)
            transition = subscription.payment_overdue(at=to)
            if transition is not None:
                await store(session, transition)
        # Acted on once, whatever the outcome: a trial owes nothing yet, an ended one has
        # nothing to lose; a later overdue notice of another invoice is its own row.
        invoice.acted_at = to
    await session.flush()
    return len(invoices)


async def apply_due(
    sessions: async_sessionmaker[AsyncSession],
    *,
    to: datetime,
    grace_days: int,
    batch_size: int,
) -> Applied:
    """Everything due by ``to``, batch after batch, until a batch comes back short."""
    advanced = dunned = 0
    while True:
        async with transaction(sessions) as session:
            taken = await advance_due(session, to=to, limit=batch_size)
        advanced += taken
        if taken < batch_size:
            break
    while True:
        async with transaction(sessions) as session:
            taken = await suspend_overdue(session, to=to, grace_days=grace_days, limit=batch_size)
        dunned += taken
        if taken < batch_size:
            break
    return Applied(advanced=advanced, dunned=dunned)


async def scheduler_round(
    sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings
) -> Applied:
    """The worker's periodic job: apply everything due by now."""
    if not isinstance(settings, OrdersSettings):
        raise TypeError("the orders scheduler runs with the orders service's settings")
    applied = await apply_due(
        sessions,
        to=datetime.now(UTC),
        grace_days=settings.suspension_grace_days,
        batch_size=settings.scheduler_batch_size,
    )
    if applied.advanced or applied.dunned:
        logger.info("due subscription changes applied", extra=vars(applied))
    return applied


def scheduler_interval(settings: ServiceSettings) -> float:
    if not isinstance(settings, OrdersSettings):
        raise TypeError("the orders scheduler runs with the orders service's settings")
    return settings.scheduler_interval_seconds
