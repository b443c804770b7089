"""Outbox relay throughput against a bare aiokafka producer on the same broker.

The floor is the fastest a Python process can put the same messages on the same broker:
aiokafka, acks=all, every future awaited. The relay does that plus reading the rows from
PostgreSQL in order per lane and marking them published, so the ratio says what the outbox's
guarantees cost. Run alone with ``python bench/outbox_relay.py``, or with the others
through ``bench/run.py``.
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
from pathlib import Path

from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.catalog import ProductPublished
from vitrina_kit import db, kafka
from vitrina_kit.local import EmbeddedBroker, EmbeddedPostgres, create_database
from vitrina_kit.outbox import OutboxRelay, add_event, backlog


def sample_events(count: int) -> list[ProductPublished]:
    example = ProductPublished.example()
    return [
        ProductPublished(product=example.product.model_copy(update={"product_id": uuid.uuid4()}))
        for _ in range(count)
    ]


async def bare_producer(bootstrap: str, events: list[ProductPublished]) -> float:
    """Messages per second of aiokafka alone, same payloads, keys and acks."""
    payloads = [
        (
            str(e.product.product_id).encode(),
            build_envelope(
                e, source="/vitrina/catalog", subject=str(e.product.product_id), aggregate_version=1
            ).to_json_bytes(),
        )
        for e in events
    ]
    producer = kafka.create_producer(bootstrap, client_id="bench-bare")
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [
            await producer.send("bench.bare", value=value, key=key) for key, value in payloads
        ]
        await asyncio.gather(*futures)
        return len(payloads) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def relay(bootstrap: str, database_url: str, events: list[ProductPublished]) -> float:
    """Rows per second the relay publishes and marks, from a full outbox to an empty one."""
    engine = db.create_engine(database_url, pool_size=8)
    async with engine.begin() as connection:
        await connection.run_sync(db.KitBase.metadata.drop_all)
        await connection.run_sync(db.KitBase.metadata.create_all)
    sessions = db.create_session_factory(engine)
    for start in range(0, len(events), 500):
        async with db.transaction(sessions) as session:
            for event in events[start : start + 500]:
                subject = str(event.product.product_id)
                await add_event(session, event, subject=subject, aggregate_version=1)
    producer = kafka.create_producer(bootstrap, client_id="bench-relay")
    await producer.start()
    try:
        outbox_relay = OutboxRelay(sessions, producer, batch_size=500)
        started = time.perf_counter()
        published = 0
        while (count := await outbox_relay.publish_pending()) > 0:
            published += count
        elapsed = time.perf_counter() - started
        async with sessions() as session:
            assert (await backlog(session)).pending == 0
        assert published == len(events)
        return published / elapsed
    finally:
        await producer.stop()
        await engine.dispose()


async def main(messages: int, rounds: int) -> dict[str, object]:
    home = Path(tempfile.mkdtemp(prefix="vitrina-bench-"))
    postgres = EmbeddedPostgres(home / "pg", keep_data=False).start()
    try:
        with EmbeddedBroker() as broker:
            await kafka.ensure_topics(broker.bootstrap_servers)
            url = postgres.url("bench")
            create_database(url)
            floors, relays = [], []
            for _ in range(rounds):  # interleaved, so drift in the machine hits both alike
                events = sample_events(messages)
                floors.append(await bare_producer(broker.bootstrap_servers, events))
                relays.append(await relay(broker.bootstrap_servers, url, events))
    finally:
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)
    floor, measured = statistics.median(floors), statistics.median(relays)
    return {
        "benchmark": "outbox_relay",
        "messages": messages,
        "rounds": rounds,
        "floor": {"name": "bare aiokafka producer, acks=all", "msgs_per_s": round(floor)},
        "measured": {
            "name": "OutboxRelay (PostgreSQL -> Kafka, marked)",
            "msgs_per_s": round(measured),
        },
        "ratio": round(measured / floor, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.messages, args.rounds)), indent=2))
