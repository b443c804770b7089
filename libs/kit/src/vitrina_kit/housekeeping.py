"""Forgetting what no longer protects anything: old published outbox rows, inbox entries and
Idempotency-Keys. Without it those tables grow with every event and request, forever.

Pending and parked outbox rows are never touched: they are work, not history.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_kit.aio import sleep_unless
from vitrina_kit.consumer import InboxMessage
from vitrina_kit.db import KitBase, transaction
from vitrina_kit.idempotency import IdempotencyRecord
from vitrina_kit.outbox import OutboxMessage

logger = logging.getLogger(__name__)

# Only one replica purges at a time; the others skip the round.
_PURGE_LOCK = (0x0B0C5, -1)


@dataclass(frozen=True)
class Retention:
    """How long each kind of record is kept.

    ``inbox`` must outlast any redelivery a consumer can still see (an offset reset to the
    start of a topic replays events older than that as new ones), so it is the longest.
    """

    published_outbox: timedelta = timedelta(days=3)
    inbox: timedelta = timedelta(days=30)
    idempotency_keys: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Purged:
    published_outbox: int
    inbox: int
    idempotency_keys: int


async def purge(
    session: AsyncSession, retention: Retention, *, now: datetime | None = None, batch: int = 5_000
) -> Purged | None:
    """Delete up to ``batch`` expired records of each kind; None if another replica is at it."""
    locked = await session.scalar(select(func.pg_try_advisory_xact_lock(*_PURGE_LOCK)))
    if not locked:
        return None
    now = now or datetime.now(UTC)
    return Purged(
        published_outbox=await _delete_expired(
            session, OutboxMessage, "published_at", now - retention.published_outbox, batch
        ),
        inbox=await _delete_expired(
            session, InboxMessage, "processed_at", now - retention.inbox, batch
        ),
        idempotency_keys=await _delete_expired(
            session, IdempotencyRecord, "created_at", now - retention.idempotency_keys, batch
        ),
    )


async def _delete_expired(
    session: AsyncSession, model: type[KitBase], column: str, before: datetime, batch: int
) -> int:
    # Bounded batches keep each transaction short; ctid addresses a row whatever its key.
    # Table and column names come from the models above, never from input.
    table = model.__tablename__
    result = await session.execute(
        text(
            f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("  # noqa: S608
            f"SELECT ctid FROM {table} WHERE {column} < :before LIMIT :batch))"
        ),
        {"before": before, "batch": batch},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def run(
    sessions: async_sessionmaker[AsyncSession],
    retention: Retention,
    *,
    stop: asyncio.Event,
    interval_seconds: float,
) -> None:
    """Purge every ``interval_seconds`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            async with transaction(sessions) as session:
                purged = await purge(session, retention)
            if purged and any(vars(purged).values()):
                logger.info("expired records purged", extra=vars(purged))
        except Exception:
            logger.exception("housekeeping round failed")
        await sleep_unless(stop, interval_seconds)
