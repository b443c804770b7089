"""The 1C work the worker process does on its own schedule."""

from __future__ import annotations

from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.onec import service
from integrations.settings import IntegrationsSettings
from vitrina_kit.service import PeriodicJob
from vitrina_kit.settings import ServiceSettings


def _own(settings: ServiceSettings) -> IntegrationsSettings:
    return cast(IntegrationsSettings, settings)


async def _sync(sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings) -> int:
    return await service.sync_due(sessions, _own(settings))


async def _pull(sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings) -> int:
    return (await service.pull_all(sessions, _own(settings))).imported


ONEC_SYNC = PeriodicJob(
    name="onec-sync",
    run=_sync,
    interval_seconds=lambda settings: _own(settings).onec_sync_interval_seconds,
)
ONEC_PAYMENTS = PeriodicJob(
    name="onec-payments",
    run=_pull,
    interval_seconds=lambda settings: _own(settings).onec_payments_interval_seconds,
)
