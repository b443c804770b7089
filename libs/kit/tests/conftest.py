from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitrina_kit import db, kafka
from vitrina_kit.consumer import ConsumerRunner
from vitrina_kit.migrations import KIT_METADATA

TEST_RETRY_STAGES = ("500ms", "1s")
"""Short delayed-retry stages, so a record's whole journey to the DLQ takes a few seconds."""


@pytest.fixture
async def engine(make_database: Callable[[str], str]) -> AsyncIterator[AsyncEngine]:
    """A fresh database holding the kit's tables and the ``effects`` table."""
    engine = db.create_engine(make_database("kit"), pool_size=5)
    async with engine.begin() as connection:
        await connection.run_sync(KIT_METADATA.create_all)  # every kit table
        # A table of the kind a service would own, for handlers and creations under test.
        await connection.execute(
            text("CREATE TABLE effects (id serial PRIMARY KEY, note text NOT NULL)")
        )
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return db.create_session_factory(engine)


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """The registry's topics (retry topics of the test stages too) and a producer."""
    await kafka.ensure_topics(kafka_bootstrap, retry_stages=TEST_RETRY_STAGES)
    producer = kafka.create_producer(kafka_bootstrap, client_id="test-dlq")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
def run_consumer(
    sessions: async_sessionmaker[AsyncSession], producer: AIOKafkaProducer, kafka_bootstrap: str
) -> Iterator[Callable[..., Callable[[], Any]]]:
    """Start a consumer in the background; returns a function that stops it gracefully."""
    started: list[tuple[asyncio.Task[None], asyncio.Event]] = []

    def start(
        handlers: dict[Any, Any],
        *,
        group: str = "test-group",
        retry_stages: Sequence[str] = TEST_RETRY_STAGES,
    ) -> Callable[[], Any]:
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
            retry_stages=retry_stages,
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
