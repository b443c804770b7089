"""A service's periodic job: run every interval until stopped, a failing round logged and
survived, the service's settings and sessions handed to each round."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_kit.service import PeriodicJob, run_periodically
from vitrina_kit.settings import ServiceSettings


async def test_a_job_runs_every_interval_survives_a_failure_and_stops_promptly(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    settings = ServiceSettings(service_name="jobs")
    rounds: list[tuple[object, object]] = []
    stop = asyncio.Event()

    async def one_round(given: async_sessionmaker[AsyncSession], seen: ServiceSettings) -> None:
        rounds.append((given, seen))
        if len(rounds) == 2:
            raise RuntimeError("the database went away for a moment")
        if len(rounds) == 4:
            stop.set()

    job = PeriodicJob(name="tick", run=one_round, interval_seconds=lambda _: 0.01)
    with caplog.at_level(logging.ERROR):
        await asyncio.wait_for(run_periodically(job, sessions, settings, stop=stop), timeout=5)

    assert len(rounds) == 4
    assert all(given is sessions and seen is settings for given, seen in rounds)
    assert [record.message for record in caplog.records] == ["periodic job round failed"]


async def test_stopping_does_not_wait_for_the_interval(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    stop = asyncio.Event()
    rounds = 0

    async def one_round(_: async_sessionmaker[AsyncSession], __: ServiceSettings) -> None:
        nonlocal rounds
        rounds += 1
        stop.set()

    job = PeriodicJob(name="hourly", run=one_round, interval_seconds=lambda _: 3600)
    settings = ServiceSettings(service_name="jobs")
    running = asyncio.create_task(run_periodically(job, sessions, settings, stop=stop))
    # An hourly job stopped after its first round ends now, not an hour later.
    done, _ = await asyncio.wait({running}, timeout=2)
    if running not in done:
        running.cancel()
    assert running in done
    assert running.result() is None
    assert rounds == 1
