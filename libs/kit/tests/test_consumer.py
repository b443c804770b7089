"""The idempotent consumer runner against real PostgreSQL and the real (embedded) broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.catalog import ProductPublished, ProductRetired
from vitrina_kit import kafka
from vitrina_kit.consumer import (
    InboxMessage,
    PermanentError,
    Received,
    parse_retry_stages,
    stage_delay,
)
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


async def test_an_event_that_keeps_failing_is_dead_lettered_after_every_stage(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    async def broken(session: AsyncSession, message: Received[Any]) -> None:
        if message.envelope.subject == "doomed":
            raise RuntimeError("handler bug")
        await record_effect(session, message)

    doomed = doomed_bytes()
    await send_raw(kafka_bootstrap, TOPIC, [doomed, envelope_bytes()], key=b"k")
    shutdown = run_consumer({ProductPublished: broken})  # stages 500ms, 1s

    await wait_until(lambda: _at_least(sessions, 1), message="the event after the failing one")
    dead = await read_topic(kafka_bootstrap, TOPIC + ".dlq", expected=1)
    first = await read_topic(kafka_bootstrap, TOPIC + ".retry.500ms", expected=1)
    second = await read_topic(kafka_bootstrap, TOPIC + ".retry.1s", expected=1)
    await shutdown()

    assert [r.value for r in (*first, *second, *dead)] == [doomed] * 3
    assert dict(first[0].headers)["vitrina-retry-attempts"] == b"3"
    assert dict(second[0].headers)["vitrina-retry-attempts"] == b"6"
    headers = dict(dead[0].headers)
    assert headers["vitrina-dlq-attempts"] == b"9"  # 3 in process, on the topic and each stage
    assert b"handler bug" in headers["vitrina-dlq-error"]
    assert headers["vitrina-dlq-error-type"] == b"RuntimeError"
    # The original position, not the last retry topic's.
    assert headers["vitrina-dlq-topic"] == TOPIC.encode()
    assert headers["vitrina-dlq-partition"] == str(dead[0].partition).encode()
    assert headers["vitrina-dlq-offset"] == b"0"
    assert headers["vitrina-dlq-consumer-group"] == b"test-group"
    assert headers["vitrina-dlq-failed-at"]
    assert not [name for name in headers if name.startswith("vitrina-retry-")]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 1


def doomed_bytes(subject: str = "doomed") -> bytes:
    return build_envelope(
        ProductPublished.example(), source="/vitrina/catalog", subject=subject, aggregate_version=1
    ).to_json_bytes()


async def test_a_failure_outlasting_the_in_process_attempts_succeeds_from_a_retry_topic(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    """While the event waits in its retry topic, later records of its partition go on."""
    stage = "5s"  # long enough to observe the wait, with a margin for a slow machine
    await kafka.ensure_topics(kafka_bootstrap, retry_stages=(stage,))
    slow_calls = 0

    async def slow_to_recover(session: AsyncSession, message: Received[Any]) -> None:
        nonlocal slow_calls
        if message.envelope.subject == "slow":
            slow_calls += 1
            if slow_calls <= 3:  # every in-process attempt on the main topic fails
                raise ConnectionError("partner API down")
        await record_effect(session, message)

    slow = doomed_bytes("slow")
    slow_id = json.loads(slow)["id"]
    await send_raw(kafka_bootstrap, TOPIC, [slow, envelope_bytes()], key=b"one-key")
    shutdown = run_consumer({ProductPublished: slow_to_recover}, retry_stages=(stage,))

    waiting = await read_topic(kafka_bootstrap, TOPIC + ".retry.5s", expected=1)
    await wait_until(lambda: _at_least(sessions, 1), message="the record after the failing one")
    # A record written after the failing one was parked is applied too: nothing is blocked.
    await send_raw(kafka_bootstrap, TOPIC, [envelope_bytes()], key=b"one-key")
    await wait_until(lambda: _at_least(sessions, 2), message="a later record")
    assert not await _applied(sessions, slow_id)

    await wait_until(lambda: _applied(sessions, slow_id), message="the retried event")
    await shutdown()

    assert slow_calls == 4
    assert await count_effects(sessions) == 3
    headers = dict(waiting[0].headers)
    assert headers["vitrina-retry-consumer-group"] == b"test-group"
    assert headers["vitrina-retry-attempts"] == b"3"
    assert headers["vitrina-retry-topic"] == TOPIC.encode()
    assert headers["vitrina-retry-offset"] == b"0"
    assert headers["vitrina-retry-error-type"] == b"ConnectionError"
    assert datetime.fromisoformat(
        headers["vitrina-retry-not-before"].decode()
    ) > datetime.fromtimestamp(waiting[0].timestamp / 1000, UTC)
    assert await read_topic(kafka_bootstrap, TOPIC + ".dlq", expected=1, timeout=1) == []
    async with sessions() as session:
        inbox = (await session.scalars(select(InboxMessage))).all()
    slow_inbox = [row for row in inbox if row.event_id == slow_id]
    assert [(r.topic, r.source_offset) for r in slow_inbox] == [(TOPIC, 0)]


async def test_a_record_waiting_in_a_retry_topic_survives_a_consumer_restart(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    """The waiting record's offset is the retry partition's committed offset: a new owner of the
    partition finds it, waits for it the same way, and applies it once when due."""
    stage = "3s"
    await kafka.ensure_topics(kafka_bootstrap, retry_stages=(stage,))
    failing = True
    applied_at: list[datetime] = []

    async def recovers_later(session: AsyncSession, message: Received[Any]) -> None:
        if failing:
            raise ConnectionError("partner API down")
        applied_at.append(datetime.now(UTC))
        await record_effect(session, message)

    await send_raw(kafka_bootstrap, TOPIC, [envelope_bytes()], key=b"k")
    shutdown = run_consumer({ProductPublished: recovers_later}, retry_stages=(stage,))
    [waiting] = await read_topic(kafka_bootstrap, TOPIC + ".retry.3s", expected=1)
    await asyncio.sleep(0.5)  # fetched and paused by now
    await shutdown()

    failing = False
    shutdown = run_consumer({ProductPublished: recovers_later}, retry_stages=(stage,))
    await wait_until(lambda: _at_least(sessions, 1), message="the retried event")
    await asyncio.sleep(0.5)
    await shutdown()

    not_before = datetime.fromisoformat(dict(waiting.headers)["vitrina-retry-not-before"].decode())
    assert len(applied_at) == 1
    assert applied_at[0] >= not_before
    assert await count_effects(sessions) == 1


async def _applied(sessions: async_sessionmaker[AsyncSession], event_id: str) -> bool:
    async with sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(effects).where(effects.c.note == event_id)
        )
    return bool(found)


async def test_another_group_ignores_retry_records_not_meant_for_it(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str, run_consumer: Any
) -> None:
    a_calls = b_calls = 0

    async def flaky_a(session: AsyncSession, message: Received[Any]) -> None:
        nonlocal a_calls
        a_calls += 1
        if a_calls <= 3:
            raise ConnectionError("blip")
        await record_effect(session, message)

    async def refuses_b(session: AsyncSession, message: Received[Any]) -> None:
        # Were group b to act on group a's retry record, this would run (and dead-letter) twice.
        nonlocal b_calls
        b_calls += 1
        raise PermanentError("group b cannot use it")

    event = envelope_bytes()
    await send_raw(kafka_bootstrap, TOPIC, [event], key=b"k")
    stop_a = run_consumer({ProductPublished: flaky_a}, group="group-a")
    stop_b = run_consumer({ProductPublished: refuses_b}, group="group-b")

    await wait_until(lambda: _applied(sessions, json.loads(event)["id"]), message="a's retry")
    await asyncio.sleep(1.5)  # time for group b to have fetched the retry record too
    await stop_a()
    await stop_b()

    assert a_calls == 4
    assert b_calls == 1
    dead = await read_topic(kafka_bootstrap, TOPIC + ".dlq", expected=2, timeout=2)
    assert [dict(d.headers)["vitrina-dlq-consumer-group"] for d in dead] == [b"group-b"]


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


def test_retry_stages_read_from_settings_text() -> None:
    assert parse_retry_stages("10s, 1m,10m") == ("10s", "1m", "10m")
    assert parse_retry_stages("") == ()
    assert [stage_delay(s) for s in ("500ms", "10s", "1m", "2h")] == [0.5, 10.0, 60.0, 7200.0]
    for bad in ("10", "0s", "1.5s", "-1m", "1d", "ms", "10s,10s"):
        with pytest.raises(ValueError, match="retry stage"):
            parse_retry_stages(bad)
