"""The billing calendar as a periodic job of the worker process."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.invoices.documents import seller
from billing.runs.service import billing_calendar
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
    )


def _interval(settings: ServiceSettings) -> float:
    assert isinstance(settings, BillingSettings)
    return settings.run_interval_seconds


BILLING_CALENDAR = PeriodicJob(
    name="billing-calendar", run=run_calendar, interval_seconds=_interval
)
"""Today's renewals and the close of the month just ended, each once a day / period; replicas
running it together only repeat idempotent steps."""
