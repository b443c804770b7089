"""The transactional outbox against real PostgreSQL and the real (embedded) broker."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import pytest
from aiokafka.errors import KafkaConnectionError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_contracts.envelope import CloudEvent
from vitrina_contracts.events.catalog import ProductPublished
from vitrina_kit import kafka
from vitrina_kit.db import transaction
from vitrina_kit.outbox import OutboxMessage, OutboxRelay, RelayStalled, add_event, backlog
from vitrina_kit.testing import read_topic

TOPIC = ProductPublished.topic


def product_event(product_id: uuid.UUID, version: int) -> ProductPublished:
    example = ProductPublished.example()
    return ProductPublished(
        product=example.product.model_copy(update={"product_id": product_id, "version": version})
    )


async def write_events(
    sessions: async_sessionmaker[AsyncSession], events: list[tuple[uuid.UUID, int]]
) -> None:
    async with transaction(sessions) as session:
        for product_id, version in events:
            await add_event(
                session,
                product_event(product_id, version),
                subject=str(product_id),
                aggregate_version=version,
            )


@pytest.fixture
async def producer(kafka_bootstrap: str):  # type: ignore[no-untyped-def]
    await kafka.ensure_topics(kafka_bootstrap)
    producer = kafka.create_producer(kafka_bootstrap, client_id="test-relay")
    await producer.start()
    yield producer
    await producer.stop()


async def test_rolled_back_transaction_publishes_nothing(
    sessions: async_sessionmaker[AsyncSession], producer, kafka_bootstrap: str
) -> None:
    class Boom(Exception):
        pass

    async def publish_then_fail() -> None:
        async with transaction(sessions) as session:
            await add_event(
                session, product_event(uuid.uuid4(), 1), subject="p", aggregate_version=1
            )
            raise Boom

    with pytest.raises(Boom):
        await publish_then_fail()

    relay = OutboxRelay(sessions, producer)
    assert await relay.publish_pending() == 0
    assert await read_topic(kafka_bootstrap, TOPIC, expected=1, timeout=1.5) == []


async def test_relay_publishes_committed_events_in_order_per_key(
    sessions: async_sessionmaker[AsyncSession], producer, kafka_bootstrap: str
) -> None:
    products = [uuid.uuid4() for _ in range(5)]
    await write_events(sessions, [(p, v) for v in range(1, 21) for p in products])

    published = await OutboxRelay(sessions, producer, batch_size=7).publish_pending()
    # One pass takes one batch per lane; finish the rest.
    relay = OutboxRelay(sessions, producer, batch_size=7)
    while (more := await relay.publish_pending()) > 0:
        published += more
    assert published == 100

    records = await read_topic(kafka_bootstrap, TOPIC, expected=100)
    versions: dict[str, list[int]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for record in records:
        envelope = CloudEvent.from_json_bytes(record.value)
        assert record.key == envelope.subject.encode()
        assert dict(record.headers)["ce_id"] == str(envelope.id).encode()
        versions[envelope.subject].append(envelope.aggregateversion)
        partitions[envelope.subject].add(record.partition)
    assert set(versions) == {str(p) for p in products}
    for subject, seen in versions.items():
        assert seen == list(range(1, 21)), subject
        assert len(partitions[subject]) == 1

    async with sessions() as session:
        assert (await backlog(session)).pending == 0


async def test_two_relays_at_once_publish_each_row_once(
    sessions: async_sessionmaker[AsyncSession], producer, kafka_bootstrap: str
) -> None:
    await write_events(sessions, [(uuid.uuid4(), 1) for _ in range(300)])
    first = OutboxRelay(sessions, producer, batch_size=10)
    second = OutboxRelay(sessions, producer, batch_size=10)

    total = 0
    while True:
        a, b = await asyncio.gather(first.publish_pending(), second.publish_pending())
        total += a + b
        if a == b == 0:
            break
    assert total == 300

    records = await read_topic(kafka_bootstrap, TOPIC, expected=301, timeout=1.5)
    ids = [dict(record.headers)["ce_id"] for record in records]
    assert len(ids) == 300
    assert len(set(ids)) == 300


class RelayKilled(Exception):
    pass


class CrashBeforeMark(OutboxRelay):
    """A relay that dies after the broker acknowledged the batch, before marking it.

    A killed process never commits its transaction; raising here aborts it the same way.
    """

    async def _mark_published(self, session: AsyncSession, row_ids: list[int]) -> None:
        raise RelayKilled("killed between send and mark")


async def test_relay_killed_after_sending_sends_again(
    sessions: async_sessionmaker[AsyncSession], producer, kafka_bootstrap: str
) -> None:
    await write_events(sessions, [(uuid.uuid4(), 1) for _ in range(3)])

    with pytest.raises(RelayKilled):
        await CrashBeforeMark(sessions, producer).publish_pending()
    async with sessions() as session:
        assert (await backlog(session)).pending == 3  # the marks died with the process

    assert await OutboxRelay(sessions, producer).publish_pending() == 3
    records = await read_topic(kafka_bootstrap, TOPIC, expected=6)
    ids = [dict(record.headers)["ce_id"] for record in records]
    assert len(ids) == 6
    assert len(set(ids)) == 3  # every event twice, same id: consumers deduplicate


async def test_a_row_that_keeps_failing_is_parked_and_shows_in_the_backlog(
    sessions: async_sessionmaker[AsyncSession], producer, kafka_bootstrap: str
) -> None:
    await write_events(sessions, [(uuid.uuid4(), 1)])
    async with transaction(sessions) as session:
        # Larger than the producer may send: every attempt of this row fails.
        await session.execute(update(OutboxMessage).values(payload=b"x" * 2_000_000))
    await write_events(sessions, [(uuid.uuid4(), 1)])

    relay = OutboxRelay(sessions, producer, max_attempts=2)
    for _ in range(3):
        await relay.publish_pending()

    async with sessions() as session:
        state = await backlog(session)
        parked = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.parked_at.is_not(None)))
        ).all()
        published = await session.scalar(
            select(func.count()).where(OutboxMessage.published_at.is_not(None))
        )
    assert state.pending == 0
    assert state.parked == 1
    assert len(parked) == 1
    assert parked[0].attempts == 2
    assert parked[0].last_error
    assert published == 1


class SilentBroker:
    """A producer whose sends the broker never acknowledges (what a client wedged by a broker
    restart looks like from the relay), or refuses with a retriable error."""

    def __init__(self, refusal: Exception | None = None) -> None:
        self.refusal = refusal
        self.sends = 0

    async def send(self, *_args: object, **_kwargs: object) -> asyncio.Future[object]:
        self.sends += 1
        if self.refusal is not None:
            raise self.refusal
        return asyncio.get_running_loop().create_future()


async def test_sends_the_broker_never_acknowledges_leave_the_rows_pending_and_end_the_relay(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await write_events(sessions, [(uuid.uuid4(), 1) for _ in range(3)])
    broker = SilentBroker()
    relay = OutboxRelay(
        sessions,
        broker,  # type: ignore[arg-type]
        publish_timeout=0.2,
        max_stalled_passes=2,
        poll_interval=0.01,
    )

    with pytest.raises(RelayStalled):
        await asyncio.wait_for(relay.run(asyncio.Event()), timeout=10)

    assert broker.sends >= 2
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert [(row.published_at, row.parked_at, row.attempts) for row in rows] == [
        (None, None, 0)
    ] * 3  # nothing published, nothing parked, no attempt counted against a row


async def test_a_broker_that_is_away_parks_nothing(
    sessions: async_sessionmaker[AsyncSession], producer, kafka_bootstrap: str
) -> None:
    await write_events(sessions, [(uuid.uuid4(), 1)])
    away = OutboxRelay(
        sessions,
        SilentBroker(KafkaConnectionError("broker restarting")),  # type: ignore[arg-type]
        max_attempts=2,
    )
    for _ in range(5):
        assert await away.publish_pending() == 0

    async with sessions() as session:
        state = await backlog(session)
    assert (state.pending, state.parked) == (1, 0)

    assert await OutboxRelay(sessions, producer).publish_pending() == 1  # the broker is back
    assert len(await read_topic(kafka_bootstrap, TOPIC, expected=1)) == 1
