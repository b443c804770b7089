"""The idempotent consumer runner against real PostgreSQL and the real (embedded) broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.catalog import ProductPublished, ProductRetired
from vitrina_kit import kafka
from vitrina_kit.consumer import ConsumerRunner, InboxMessage, PermanentError, Received
from vitrina_kit.testing import read_topic, send_raw, wait_until

effects = Table(
    "effects", MetaData(), Column("id", Integer, primary_key=True), Column("note", Text)
)

TOPIC = ProductPublished.topic


def envelope_bytes(
    *, product_id: uuid.UUID | None = None, event_id: uuid.UUID | None = None
) -> bytes:
    product_id = product_id or uuid.uuid4()
    example = ProductPublished.example()
    event = ProductPublished(product=example.product.model_copy(update={"product_id": product_id}))
    return build_envelope(
        event,
        source="/vitrina/catalog",
        subject=str(product_id),
        aggregate_version=1,
        event_id=event_id,
    ).to_json_bytes()


async def record_effect(session: AsyncSession, message: Received[Any]) -> None:
    await session.execute(insert(effects).values(note=str(message.envelope.id)))


async def count_effects(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(effects)) or 0)


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[Any]:
    await kafka.ensure_topics(kafka_bootstrap)
    producer = kafka.create_producer(kafka_bootstrap, client_id="test-dlq")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
def run_consumer(
    sessions: async_sessionmaker[AsyncSession], producer: Any, kafka_bootstrap: str
) -> Any:
    """Start a consumer in the background; returns a function that stops it gracefully."""
    started: list[tuple[asyncio.Task[None], asyncio.Event]] = []

    def start(handlers: dict[Any, Any], *, group: str = "test-group") -> Callable[[], Any]:
        runner = ConsumerRunner(
            group_id=group,
            bootstrap_servers=kafka_bootstrap,
            sessions=sessions,
            handlers=handlers,
            producer=producer,
            max_attempts=3,
            retry_base_seconds=0.01,
            fetch_max_wait_ms=50,
            session_timeout_ms=3000,
            heartbeat_interval_ms=500,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        started.append((task, stop))

        async def shutdown() -> None:
            stop.set()
            await asyncio.wait_for(task, timeout=20)

        return shutdown

    yield start
    for task, stop in started:
        stop.set()
        task.cancel()


async def test_the_same_event_delivered_twice_changes_nothing_the_second_time(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    same = envelope_bytes()
    await send_raw(kafka_bootstrap, TOPIC, [same, same], key=b"k")
    shutdown = run_consumer({ProductPublished: record_effect})

    async def both_seen() -> bool:
        async with sessions() as session:
            offsets = await session.scalar(select(func.count()).select_from(InboxMessage))
        return bool(offsets) and await count_effects(sessions) >= 1

    await wait_until(both_seen, message="the event applied")
    # Let the copy arrive and be dropped, then stop and check it left no trace.
    await send_raw(kafka_bootstrap, TOPIC, [envelope_bytes()], key=b"k")
    await wait_until(lambda: _at_least(sessions, 2), message="the marker event")
    await shutdown()

    assert await count_effects(sessions) == 2  # the event once, the marker once
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 2


async def _at_least(sessions: async_sessionmaker[AsyncSession], n: int) -> bool:
    return await count_effects(sessions) >= n


async def test_a_poison_message_goes_to_the_dlq_and_the_partition_moves_on(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    await send_raw(kafka_bootstrap, TOPIC, [b"{not json", envelope_bytes()], key=b"same-key")
    shutdown = run_consumer({ProductPublished: record_effect})

    await wait_until(lambda: _at_least(sessions, 1), message="the event after the poison")
    dead = await read_topic(kafka_bootstrap, TOPIC + ".dlq", expected=1)
    await shutdown()

    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert dead[0].value == b"{not json"
    assert headers["vitrina-dlq-error-type"] == b"InvalidEnvelope"
    assert headers["vitrina-dlq-error"]
    assert headers["vitrina-dlq-attempts"] == b"0"
    assert headers["vitrina-dlq-topic"] == TOPIC.encode()
    assert headers["vitrina-dlq-offset"] == b"0"
    assert headers["vitrina-dlq-consumer-group"] == b"test-group"


async def test_a_valid_envelope_with_invalid_data_is_dead_lettered(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    broken = json.loads(envelope_bytes())
    broken["data"]["product"]["plans"] = "not a list"
    await send_raw(
        kafka_bootstrap, TOPIC, [json.dumps(broken).encode(), envelope_bytes()], key=b"k"
    )
    shutdown = run_consumer({ProductPublished: record_effect})

    await wait_until(lambda: _at_least(sessions, 1), message="the valid event")
    dead = await read_topic(kafka_bootstrap, TOPIC + ".dlq", expected=1)
    await shutdown()
    assert [dict(d.headers)["vitrina-dlq-error-type"] for d in dead] == [b"InvalidEventData"]


async def test_a_transient_failure_is_retried_and_applied_once(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    calls = 0

    async def flaky(session: AsyncSession, message: Received[Any]) -> None:
        nonlocal calls
        calls += 1
        await record_effect(session, message)  # written, then rolled back on failure
        if calls < 3:
            raise ConnectionError("database went away")

    await send_raw(kafka_bootstrap, TOPIC, [envelope_bytes()], key=b"k")
    shutdown = run_consumer({ProductPublished: flaky})
    await wait_until(lambda: _at_least(sessions, 1), message="the retried event")
    await shutdown()

    assert calls == 3
    assert await count_effects(sessions) == 1
    assert await read_topic(kafka_bootstrap, TOPIC + ".dlq", expected=1, timeout=1) == []


async def test_an_event_that_keeps_failing_is_dead_lettered_after_the_attempts(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    async def broken(session: AsyncSession, message: Received[Any]) -> None:
        if message.envelope.subject == "doomed":
            raise RuntimeError("handler bug")
        await record_effect(session, message)

    example = ProductPublished.example()
    doomed = build_envelope(
        example, source="/vitrina/catalog", subject="doomed", aggregate_version=1
    ).to_json_bytes()
    await send_raw(kafka_bootstrap, TOPIC, [doomed, envelope_bytes()], key=b"k")
    shutdown = run_consumer({ProductPublished: broken})

    await wait_until(lambda: _at_least(sessions, 1), message="the event after the failing one")
    dead = await read_topic(kafka_bootstrap, TOPIC + ".dlq", expected=1)
    await shutdown()

    headers = dict(dead[0].headers)
    assert headers["vitrina-dlq-attempts"] == b"3"
    assert b"handler bug" in headers["vitrina-dlq-error"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 1


async def test_a_permanent_error_skips_the_retries(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    calls = 0

    async def refuses(session: AsyncSession, message: Received[Any]) -> None:
        nonlocal calls
        calls += 1
        raise PermanentError("this can never be applied")

    await send_raw(kafka_bootstrap, TOPIC, [envelope_bytes()], key=b"k")
    shutdown = run_consumer({ProductPublished: refuses})
    dead = await read_topic(kafka_bootstrap, TOPIC + ".dlq", expected=1)
    await shutdown()
    assert calls == 1
    assert dict(dead[0].headers)["vitrina-dlq-attempts"] == b"1"


async def test_types_without_a_handler_are_skipped_and_offsets_still_move(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    retired = build_envelope(
        ProductRetired.example(), source="/vitrina/catalog", subject="x", aggregate_version=2
    ).to_json_bytes()
    unknown = json.loads(envelope_bytes())
    unknown["type"] = "ru.vitrina.catalog.product.teleported"
    await send_raw(
        kafka_bootstrap, TOPIC, [retired, json.dumps(unknown).encode(), envelope_bytes()], key=b"k"
    )
    shutdown = run_consumer({ProductPublished: record_effect})
    await wait_until(lambda: _at_least(sessions, 1), message="the handled event")
    await shutdown()

    # Restarted with the same group, nothing is consumed again: all three offsets committed.
    shutdown = run_consumer({ProductPublished: record_effect})
    await send_raw(kafka_bootstrap, TOPIC, [envelope_bytes()], key=b"k")
    await wait_until(lambda: _at_least(sessions, 2), message="the next event")
    await shutdown()
    assert await count_effects(sessions) == 2
    assert await read_topic(kafka_bootstrap, TOPIC + ".dlq", expected=1, timeout=1) == []
