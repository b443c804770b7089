"""Billing runs as Prometheus sees them: each run counted once by kind and outcome, and timed; a
run refused before it starts is neither."""

from __future__ import annotations

from datetime import date

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.invoices.documents import seller
from billing.runs import service as runs
from billing.settings import BillingSettings

SELLER = seller(BillingSettings())


def sample(name: str, **labels: str) -> float:
    """The current value of one series of the process's registry (0 when it does not exist)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def request(kind: runs.RunKind, on: date) -> runs.RunRequest:
    return runs.RunRequest(kind, on, runs.run_period(kind, on, today=date(2030, 1, 1)))


def counts(kind: runs.RunKind) -> tuple[float, float, float]:
    """(completed, failed, timed) runs of ``kind`` so far."""
    return (
        sample("vitrina_billing_runs_total", kind=kind.value, outcome="completed"),
        sample("vitrina_billing_runs_total", kind=kind.value, outcome="failed"),
        sample("vitrina_billing_run_duration_seconds_count", kind=kind.value),
    )


def moved(before: tuple[float, float, float], kind: runs.RunKind) -> tuple[float, ...]:
    return tuple(now - then for now, then in zip(counts(kind), before, strict=True))


async def test_every_kind_of_run_is_counted_once_and_timed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Settlements run after the month's period close (else they are refused).
    order = (
        (runs.RunKind.RENEWALS, date(2025, 12, 1)),
        (runs.RunKind.PERIOD_CLOSE, date(2025, 12, 31)),
        (runs.RunKind.SETTLEMENTS, date(2025, 12, 1)),
        (runs.RunKind.DUNNING, date(2025, 12, 20)),
    )
    for kind, on in order:
        before = counts(kind)
        await runs.execute(sessions, SELLER, request(kind, on))
        assert moved(before, kind) == (1, 0, 1), kind


async def test_a_failed_run_counts_as_failed_and_a_refused_one_not_at_all(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    settlements = runs.RunKind.SETTLEMENTS
    before = counts(settlements)
    with pytest.raises(runs.PeriodNotClosed):
        await runs.execute(sessions, SELLER, request(settlements, date(2025, 11, 1)))
    assert moved(before, settlements) == (0, 0, 0)  # nothing ran

    async def broken(*_: object, **__: object) -> list[object]:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(runs, "_customers", broken)
    renewals = runs.RunKind.RENEWALS
    before = counts(renewals)
    with pytest.raises(ConnectionError):
        await runs.execute(sessions, SELLER, request(renewals, date(2025, 12, 1)))
    assert moved(before, renewals) == (0, 1, 1)
