"""EDO documents as Prometheus sees them: how many are in each status, and the moves."""

from __future__ import annotations

import time
from typing import get_args

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.edo.domain import Status
from integrations.edo.models import EdoDocument

DOCUMENTS = Gauge(
    "vitrina_edo_documents",
    "EDO documents per status, as of the tracker's last count.",
    ["status"],
)
TRANSITIONS = Counter(
    "vitrina_edo_document_transitions_total",
    "EDO documents entering a status (each published edo_document.* event).",
    ["status"],
)
STATUSES: tuple[str, ...] = get_args(Status)

_COUNT_EVERY_SECONDS = 15.0
_counted_at: float | None = None


def transitioned(status: str) -> None:
    TRANSITIONS.labels(status).inc()


async def count_documents(
    sessions: async_sessionmaker[AsyncSession], *, every: float = _COUNT_EVERY_SECONDS
) -> None:
    """Refresh :data:`DOCUMENTS`, at most every ``every`` seconds: one grouped count over
    the status index. Every known status gets a series, 0 when none is in it."""
    global _counted_at
    now = time.monotonic()
    if _counted_at is not None and now - _counted_at < every:
        return
    _counted_at = now
    async with sessions() as session:
        rows = await session.execute(
            select(EdoDocument.status, func.count()).group_by(EdoDocument.status)
        )
        counts: dict[str, int] = dict(rows.all())
    for status in {*STATUSES, *counts}:
        DOCUMENTS.labels(status).set(counts.get(status, 0))
