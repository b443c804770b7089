"""The EDO work the worker process does on its own schedule."""

from __future__ import annotations

from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.edo import metrics, service
from integrations.settings import IntegrationsSettings
from vitrina_kit.service import PeriodicJob
from vitrina_kit.settings import ServiceSettings


def _own(settings: ServiceSettings) -> IntegrationsSettings:
    return cast(IntegrationsSettings, settings)


async def _send(sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings) -> int:
    return await service.send_due(sessions, _own(settings))


async def _track(sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings) -> int:
    changes = await service.track(sessions, _own(settings))
    await metrics.count_documents(sessions)  # throttled: a grouped count now and then
    return changes


EDO_SENDER = PeriodicJob(
    name="edo-send",
    run=_send,
    interval_seconds=lambda settings: _own(settings).edo_send_interval_seconds,
)
EDO_TRACKER = PeriodicJob(
    name="edo-track",
    run=_track,
    interval_seconds=lambda settings: _own(settings).edo_track_interval_seconds,
)
