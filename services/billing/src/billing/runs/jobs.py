"""The billing calendar as a periodic job of the worker process."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.invoices.documents import seller
from billing.invoices.domain import Period
from billing.runs.service import RunKind, RunRequest, RunRules, billing_calendar, run_once
from billing.settings import BillingSettings
from vitrina_kit.service import PeriodicJob
from vitrina_kit.settings import ServiceSettings


async def run_calendar(
    sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings
) -> None:
    assert isinstance(settings, BillingSettings)
    await billing_calendar(
        sessions,
        seller(settings),
        today=datetime.now(UTC).date(),
        concurrency=settings.run_concurrency,
        rules=rules(settings),
    )


def rules(settings: BillingSettings) -> RunRules:
    return RunRules(settings.dunning_policy, settings.default_commission_percent)


async def run_dunning(
    sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings
) -> None:
    assert isinstance(settings, BillingSettings)
    today = datetime.now(UTC).date()
    request = RunRequest(RunKind.DUNNING, today, Period.month_of(today), "calendar")
    await run_once(
        sessions,
        seller(settings),
        request,
        concurrency=settings.run_concurrency,
        rules=rules(settings),
    )


def _interval(settings: ServiceSettings) -> float:
    assert isinstance(settings, BillingSettings)
    return settings.run_interval_seconds


BILLING_CALENDAR = PeriodicJob(
    name="billing-calendar", run=run_calendar, interval_seconds=_interval
)
"""Today's renewals and the close of the month just ended, each once a day / period; replicas
running it together only repeat idempotent steps."""


def _dunning_interval(settings: ServiceSettings) -> float:
    assert isinstance(settings, BillingSettings)
    return settings.dunning_interval_seconds


DUNNING = PeriodicJob(name="dunning", run=run_dunning, interval_seconds=_dunning_interval)
"""Today's dunning check, once a day: overdue invoices, reminders, suspensions asked for.
Replicas running it together share the invoices (SKIP LOCKED); a step is recorded once."""
