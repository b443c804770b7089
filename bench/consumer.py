"""The idempotent consumer runner against a bare aiokafka consumer doing the same writes.

The floor reads the same topic with aiokafka and, per message, inserts one row with asyncpg in
a transaction of its own, committing offsets per batch: the least any at-least-once consumer
that writes to PostgreSQL must do. The runner adds what makes it safe: envelope parsing and
validation against the contract, the inbox row in the same transaction, SQLAlchemy, and the
retry and dead-letter machinery. Both clocks run from the first row written to the last, by the
same probe, so group joins are not counted. Run alone with ``python bench/consumer.py``, or with
the others through ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.catalog import ProductPublished
from vitrina_kit import db, kafka
from vitrina_kit.consumer import ConsumerRunner, Received
from vitrina_kit.local import EmbeddedBroker, EmbeddedPostgres, create_database
from vitrina_kit.testing import send_raw

TOPIC = ProductPublished.topic


def envelopes(count: int) -> list[bytes]:
    example = ProductPublished.example()
    return [
        build_envelope(
            example, source="/vitrina/catalog", subject=str(uuid.uuid4()), aggregate_version=1
        ).to_json_bytes()
        for _ in range(count)
    ]


async def count_rows(pool: asyncpg.Pool, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table}"))


async def timed(probe: Callable[[], Awaitable[int]], total: int) -> float:
    """Seconds from the first row to the last, polled every 5 ms (the probe is the database,
    the same for both sides, so there is no event to wait on)."""
    while await probe() == 0:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    started = time.perf_counter()
    while await probe() < total:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


async def bare_consumer(bootstrap: str, dsn: dict[str, Any], total: int) -> float:
    pool = await asyncpg.create_pool(**dsn, min_size=2, max_size=4)
    await pool.execute("TRUNCATE floor_effects")
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=f"floor-{uuid.uuid4()}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()

    async def consume() -> None:
        async with pool.acquire() as connection:
            seen = 0
            while seen < total:
                batch = await consumer.getmany(timeout_ms=200, max_records=200)
                for records in batch.values():
                    for record in records:
                        async with connection.transaction():
                            await connection.execute(
                                "INSERT INTO floor_effects (note) VALUES ($1)", record.key
                            )
                        seen += 1
                if batch:
                    await consumer.commit()

    task = asyncio.create_task(consume())
    try:
        return await timed(lambda: count_rows(pool, "floor_effects"), total)
    finally:
        await task
        await consumer.stop()
        await pool.close()


async def runner(bootstrap: str, url: str, dsn: dict[str, Any], total: int) -> float:
    engine = db.create_engine(url, pool_size=4)
    sessions = db.create_session_factory(engine)
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE inbox_messages, runner_effects"))

    async def record(session: AsyncSession, message: Received[Any]) -> None:
        await session.execute(
            text("INSERT INTO runner_effects (note) VALUES (:note)"),
            {"note": message.envelope.subject},
        )

    producer = kafka.create_producer(bootstrap, client_id="bench-dlq")
    await producer.start()
    consumer_runner = ConsumerRunner(
        group_id=f"runner-{uuid.uuid4()}",
        bootstrap_servers=bootstrap,
        sessions=sessions,
        handlers={ProductPublished: record},
        producer=producer,
        fetch_max_wait_ms=50,
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer_runner.run(stop))
    pool = await asyncpg.create_pool(**dsn, min_size=1, max_size=2)
    try:
        return await timed(lambda: count_rows(pool, "runner_effects"), total)
    finally:
        stop.set()
        await task
        await pool.close()
        await producer.stop()
        await engine.dispose()


async def main(messages: int, rounds: int) -> dict[str, object]:
    home = Path(tempfile.mkdtemp(prefix="vitrina-bench-"))
    postgres = EmbeddedPostgres(home / "pg", keep_data=False).start()
    try:
        with EmbeddedBroker() as broker:
            await kafka.ensure_topics(broker.bootstrap_servers)
            await send_raw(broker.bootstrap_servers, TOPIC, envelopes(messages))
            url = postgres.url("bench")
            create_database(url)
            engine = db.create_engine(url, pool_size=1)
            async with engine.begin() as connection:
                await connection.run_sync(db.KitBase.metadata.create_all)
                for table in ("floor_effects", "runner_effects"):
                    await connection.execute(
                        text(f"CREATE TABLE {table} (id serial PRIMARY KEY, note text)")
                    )
            await engine.dispose()
            dsn = {"dsn": url.replace("postgresql+asyncpg", "postgresql")}
            floors, measured = [], []
            for _ in range(rounds):
                floors.append(
                    messages / await bare_consumer(broker.bootstrap_servers, dsn, messages)
                )
                measured.append(
                    messages / await runner(broker.bootstrap_servers, url, dsn, messages)
                )
    finally:
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)
    floor, result = statistics.median(floors), statistics.median(measured)
    return {
        "benchmark": "consumer",
        "messages": messages,
        "rounds": rounds,
        "floor": {
            "name": "bare aiokafka consumer + asyncpg insert per message",
            "msgs_per_s": round(floor),
        },
        "measured": {"name": "ConsumerRunner (inbox + handler)", "msgs_per_s": round(result)},
        "ratio": round(result / floor, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.messages, args.rounds)), indent=2))
