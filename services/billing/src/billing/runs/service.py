"""Billing runs: renewals (invoices for the period containing a day), period closes (closing
documents for a calendar month), for every customer concerned; the dunning check as of a day;
partners' settlements for a month.

A run is a list of customers and small transactions, each idempotent under the customers'
account locks: one customer per transaction for renewals
(:func:`billing.invoices.service.bill_customer`), a batch of customers per transaction for the
period close (:func:`~billing.invoices.service.close_customers`). So a run may be repeated, run
on two replicas at once, or die half-way: what committed stays, the rest is done by the next
run, and nothing is issued twice. Transactions are worked on by a few concurrent workers; the
document counter is the one point they queue on, for the last moment of each transaction —
which is why the close batches: a hundred thousand documents taking the counter one by one
queue on it a hundred thousand times, in batches a few hundred times. Settlements go one
partner per transaction; dunning goes through the open invoices in batches
(:mod:`billing.dunning.service`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.dunning.domain import DunningPolicy
from billing.dunning.service import dunning_check
from billing.invoices import service as documents
from billing.invoices.domain import Period, check_closable
from billing.runs import metrics
from billing.runs.models import BillingRun
from billing.settlements import service as settlements
from vitrina_contracts.events.billing import Party
from vitrina_kit import tracing
from vitrina_kit.db import transaction
from vitrina_kit.problems import Conflict, NotFound, UnprocessableEntity

logger = logging.getLogger(__name__)

TRACED_AS = "billing"
"""The service whose spans a run's are (``SERVICE.name``)."""

SKIPPED_KEPT = 100
"""A run records at most this many skipped customers with their reasons (and counts all)."""


class RunKind(StrEnum):
    RENEWALS = "renewals"
    PERIOD_CLOSE = "period_close"
    DUNNING = "dunning"
    SETTLEMENTS = "settlements"

    @property
    def is_for_a_day(self) -> bool:
        """Runs as of a day (not after today), rather than for a month that is over."""
        return self in {RunKind.RENEWALS, RunKind.DUNNING}


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"


class PeriodInFuture(UnprocessableEntity):
    code = "period_in_future"
    title = "The period has not started yet"

    def __init__(self, on: date, today: date) -> None:
        super().__init__(
            f"A run as of {on.isoformat()} cannot run on {today.isoformat()}: invoices are "
            "issued when their period starts, and nothing is overdue before its day.",
            date=on.isoformat(),
        )


class PeriodNotClosed(Conflict):
    code = "period_not_closed"
    title = "The month's closing documents are not issued yet"

    def __init__(self, period: Period) -> None:
        super().__init__(
            f"Settlements for {period.starts_on:%m.%Y} are built from the month's closing "
            "documents: run its period_close first.",
            period_start=period.starts_on.isoformat(),
        )


class RunNotFound(NotFound):
    code = "billing_run_not_found"
    title = "No such billing run"

    def __init__(self, run_id: uuid.UUID) -> None:
        super().__init__(f"There is no billing run {run_id}.", run_id=str(run_id))


def run_period(kind: RunKind, on: date, *, today: date) -> Period:
    """The calendar month a run concerns, refusing one that cannot be run yet."""
    month = Period.month_of(on)
    if kind.is_for_a_day:
        if on > today:
            raise PeriodInFuture(on, today)
    else:
        check_closable(month, run_on=today)
    return month


@dataclass(frozen=True)
class RunRequest:
    kind: RunKind
    on: date
    period: Period
    requested_by: str | None = None


@dataclass(frozen=True)
class RunRules:
    """What runs need of the settings besides the seller."""

    dunning: DunningPolicy = field(default_factory=DunningPolicy)
    default_commission: Decimal = Decimal("20.00")
    close_batch: int = 200
    """Customers per transaction of a period close. Larger batches take the document counter
    less often but hold more account locks, and redo more when one customer fails."""


async def _customers(
    session: AsyncSession, request: RunRequest, seller: Party
) -> Sequence[uuid.UUID]:
    """Whom the run works on: customers, or partners for settlements."""
    if request.kind is RunKind.SETTLEMENTS:
        return await settlements.partners_to_settle(
            session, request.period, operator_id=seller.organization_id
        )
    if request.kind is RunKind.RENEWALS:
        # Subscriptions never invoiced (their first invoice waited for the catalog or the
        # buyer), and paying ones with service on the day and no invoice covering it.
        sql = """
            SELECT DISTINCT s.customer_id FROM subscriptions s
            WHERE (s.status NOT IN ('cancelled', 'expired')
                   AND NOT EXISTS (SELECT 1 FROM billed_periods b
                                   WHERE b.subscription_id = s.subscription_id))
               OR (s.status NOT IN ('pending', 'trial')
                   AND s.service_starts_on <= :on
                   AND (s.service_ends_on IS NULL OR s.service_ends_on > :on)
                   AND NOT EXISTS (SELECT 1 FROM billed_periods b
                                   WHERE b.subscription_id = s.subscription_id
                                     AND b.period_starts_on <= :on AND b.period_ends_on > :on))
            ORDER BY 1"""
        params: dict[str, Any] = {"on": request.on}
    else:
        sql = """
            SELECT DISTINCT s.customer_id FROM subscriptions s
            WHERE s.service_starts_on < :ends_on
              AND (s.service_ends_on IS NULL OR s.service_ends_on > :starts_on)
              AND NOT EXISTS (SELECT 1 FROM closing_documents c
                              WHERE c.customer_id = s.customer_id
                                AND c.period_starts_on = :starts_on)
            ORDER BY 1"""
        params = {"starts_on": request.period.starts_on, "ends_on": request.period.ends_on}
    return list((await session.execute(text(sql), params)).scalars())


Step = Callable[[AsyncSession, list[uuid.UUID]], Coroutine[Any, Any, Sequence[object]]]
"""Works on a batch of customers in one transaction; an outcome per customer."""


async def execute(
    sessions: async_sessionmaker[AsyncSession],
    seller: Party,
    request: RunRequest,
    *,
    concurrency: int = 4,
    rules: RunRules = RunRules(),
) -> BillingRun:
    """Run ``request`` to the end and return its record (what it did).

    Raises:
        PeriodNotClosed: settlements for a month whose period close has not completed (a
            settlement is issued once, so it must not be built from half the documents).
    """
    with (
        metrics.observed(request.kind.value),
        tracing.in_span(
            TRACED_AS,
            f"billing run {request.kind.value}",
            attributes={"vitrina.billing_run.kind": request.kind.value},
        ),
    ):
        return await _execute(sessions, seller, request, concurrency=concurrency, rules=rules)


async def _execute(
    sessions: async_sessionmaker[AsyncSession],
    seller: Party,
    request: RunRequest,
    *,
    concurrency: int,
    rules: RunRules,
) -> BillingRun:
    if request.kind is RunKind.SETTLEMENTS:
        async with transaction(sessions) as session:
            closed = await completed(
                session, RunKind.PERIOD_CLOSE, on=request.on, period=request.period
            )
        if not closed:
            raise PeriodNotClosed(request.period)
    async with transaction(sessions) as session:
        run = BillingRun(
            run_id=uuid.uuid4(),
            kind=request.kind.value,
            run_on=request.on,
            period_starts_on=request.period.starts_on,
            period_ends_on=request.period.ends_on,
            status=RunStatus.RUNNING.value,
            requested_by=request.requested_by,
            customers=0,
            documents_issued=0,
            customers_skipped=0,
            skipped=[],
        )
        session.add(run)
        customers = (
            [] if request.kind is RunKind.DUNNING else await _customers(session, request, seller)
        )

    plans = documents.Plans()
    batch_size = 1
    step: Step
    if request.kind is RunKind.SETTLEMENTS:

        async def step(session: AsyncSession, batch: list[uuid.UUID]) -> Sequence[object]:
            # The run's "customers" are the partners here.
            return [
                await settlements.settle_partner(
                    session,
                    partner_id,
                    request.period,
                    operator_id=seller.organization_id,
                    default_rate=rules.default_commission,
                )
                for partner_id in batch
            ]
    elif request.kind is RunKind.RENEWALS:

        async def step(session: AsyncSession, batch: list[uuid.UUID]) -> Sequence[object]:
            return [
                await documents.bill_customer(
                    session, seller, customer_id, on=request.on, plans=plans
                )
                for customer_id in batch
            ]
    else:
        batch_size = max(1, rules.close_batch)

        async def step(session: AsyncSession, batch: list[uuid.UUID]) -> Sequence[object]:
            closed = await documents.close_customers(
                session, seller, batch, request.period, plans=plans
            )
            return list(closed.values())

    issued, skipped = 0, []
    queue: asyncio.Queue[list[uuid.UUID]] = asyncio.Queue()
    for start in range(0, len(customers), batch_size):
        queue.put_nowait(list(customers[start : start + batch_size]))

    # Each batch (a customer, for renewals) is a trace of its own, linked to the run's span: the
    # documents it issues are followed from there to their 1C and EDO sending, while a close
    # of a hundred thousand customers does not become one trace.
    run_traceparent = tracing.current_traceparent()

    async def worker() -> None:
        nonlocal issued
        while not queue.empty():
            batch = queue.get_nowait()
            try:
                with tracing.continue_trace(
                    TRACED_AS,
                    None,
                    f"billing run {request.kind.value} batch",
                    attributes={
                        "vitrina.billing_run.kind": request.kind.value,
                        "vitrina.billing_run.customers": len(batch),
                    },
                    links=[run_traceparent],
                ):
                    async with transaction(sessions) as session:
                        outcomes = await step(session, batch)
            except Exception as error:  # one customer's failure must not stop the others
                if len(batch) > 1:
                    # The batch rolled back whole, its numbers with it: its customers go again
                    # one transaction each, so only the one that fails is left out.
                    logger.warning("billing run batch failed, retrying one by one: %r", error)
                    for customer_id in batch:
                        queue.put_nowait([customer_id])
                    continue
                [customer_id] = batch
                logger.exception("billing run step failed", extra={"customer_id": str(customer_id)})
                skipped.append(documents.Skipped(customer_id, f"failed: {type(error).__name__}"))
                continue
            for outcome in outcomes:
                if isinstance(outcome, documents.Skipped):
                    skipped.append(outcome)
                elif outcome is not None:
                    issued += 1

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    concerned = len(customers)
    if request.kind is RunKind.DUNNING:
        dunned = await dunning_check(sessions, on=request.on, policy=rules.dunning)
        concerned, issued = len(dunned.customers), dunned.marked_overdue

    async with transaction(sessions) as session:
        stored = await session.get(BillingRun, run.run_id)
        assert stored is not None
        run = stored
        run.customers = concerned
        run.documents_issued = issued
        run.customers_skipped = len(skipped)
        run.skipped = [
            {"customer_id": str(item.customer_id), "reason": item.reason}
            for item in skipped[:SKIPPED_KEPT]
        ]
        run.status = RunStatus.COMPLETED.value
        run.finished_at = datetime.now(UTC)
    return run


async def completed(session: AsyncSession, kind: RunKind, *, on: date, period: Period) -> bool:
    """Whether a run of ``kind`` already completed for this day (renewals) or period (close)."""
    condition = (
        BillingRun.run_on == on
        if kind.is_for_a_day
        else (BillingRun.period_starts_on == period.starts_on)
    )
    return bool(
        await session.scalar(
            select(
                exists().where(
                    BillingRun.kind == kind.value,
                    BillingRun.status == RunStatus.COMPLETED.value,
                    condition,
                )
            )
        )
    )


async def billing_calendar(
    sessions: async_sessionmaker[AsyncSession],
    seller: Party,
    *,
    today: date,
    concurrency: int,
    rules: RunRules = RunRules(),
) -> None:
    """What the calendar asks for today: today's renewals, the close of the month that ended
    and then its partners' settlements (from the closing documents just issued), each once (an
    operator can always run any of them again through the API)."""
    last_month = Period.month_of(Period.month_of(today).starts_on - timedelta(days=1))
    wanted = [
        RunRequest(RunKind.RENEWALS, today, Period.month_of(today), "calendar"),
        RunRequest(RunKind.PERIOD_CLOSE, last_month.last_day, last_month, "calendar"),
        RunRequest(RunKind.SETTLEMENTS, last_month.last_day, last_month, "calendar"),
    ]
    for request in wanted:
        await run_once(sessions, seller, request, concurrency=concurrency, rules=rules)


async def run_once(
    sessions: async_sessionmaker[AsyncSession],
    seller: Party,
    request: RunRequest,
    *,
    concurrency: int,
    rules: RunRules,
) -> None:
    """Run ``request`` unless a run of its kind completed for its day (or month) already."""
    async with transaction(sessions) as session:
        done = await completed(session, request.kind, on=request.on, period=request.period)
    if not done:
        await execute(sessions, seller, request, concurrency=concurrency, rules=rules)
