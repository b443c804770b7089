"""Purging expired records keeps pending work and recent history."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_contracts.events.catalog import ProductPublished
from vitrina_kit.consumer import InboxMessage
from vitrina_kit.db import transaction
from vitrina_kit.housekeeping import Purged, Retention, purge
from vitrina_kit.idempotency import IdempotencyRecord
from vitrina_kit.outbox import OutboxMessage, add_event

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=400)


async def add_outbox_rows(session: AsyncSession, count: int) -> list[int]:
    for _ in range(count):
        await add_event(session, ProductPublished.example(), subject="p", aggregate_version=1)
    await session.flush()
    return list((await session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id))).all())


async def test_only_expired_history_is_purged(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        ids = await add_outbox_rows(session, 4)
        old_published, recent_published, old_pending, old_parked = ids
        m = OutboxMessage
        await session.execute(update(m).values(created_at=LONG_AGO))
        await session.execute(update(m).where(m.id == old_published).values(published_at=LONG_AGO))
        await session.execute(
            update(m).where(m.id == recent_published).values(published_at=NOW - timedelta(hours=1))
        )
        await session.execute(update(m).where(m.id == old_parked).values(parked_at=LONG_AGO))
        for event_id, processed_at in ((uuid.uuid4(), LONG_AGO), (uuid.uuid4(), NOW)):
            session.add(
                InboxMessage(
                    consumer="c",
                    event_id=str(event_id),
                    event_type="t",
                    topic="x",
                    source_partition=0,
                    source_offset=0,
                    processed_at=processed_at,
                )
            )
        for key, created_at in (("old", LONG_AGO), ("new", NOW - timedelta(minutes=5))):
            session.add(
                IdempotencyRecord(
                    scope="s",
                    key=key,
                    method="POST",
                    path="/x",
                    request_fingerprint="f",
                    created_at=created_at,
                )
            )

    async with transaction(sessions) as session:
        purged = await purge(session, Retention(), now=NOW)

    assert purged == Purged(published_outbox=1, inbox=1, idempotency_keys=1)
    async with sessions() as session:
        left = set((await session.scalars(select(OutboxMessage.id))).all())
        keys = set((await session.scalars(select(IdempotencyRecord.key))).all())
        inbox = await session.scalar(select(func.count()).select_from(InboxMessage))
    assert left == {recent_published, old_pending, old_parked}
    assert keys == {"new"}
    assert inbox == 1


async def test_purging_goes_in_bounded_batches(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        await add_outbox_rows(session, 7)
        await session.execute(update(OutboxMessage).values(published_at=LONG_AGO))

    rounds = []
    while True:
        async with transaction(sessions) as session:
            purged = await purge(session, Retention(), now=NOW, batch=3)
        assert purged is not None
        if purged.published_outbox == 0:
            break
        rounds.append(purged.published_outbox)
    assert rounds == [3, 3, 1]


async def test_one_replica_purges_at_a_time(sessions: async_sessionmaker[AsyncSession]) -> None:
    holding = asyncio.Event()
    release = asyncio.Event()

    async def first() -> Purged | None:
        async with transaction(sessions) as session:
            result = await purge(session, Retention(), now=NOW)
            holding.set()
            await release.wait()
            return result

    task = asyncio.create_task(first())
    await holding.wait()
    async with transaction(sessions) as session:
        second = await purge(session, Retention(), now=NOW)
    release.set()
    assert await task is not None
    assert second is None
