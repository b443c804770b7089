"""Reading and writing topics directly, as a test observes or disturbs the system."""

from __future__ import annotations

import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition


async def read_topic(
    bootstrap_servers: str,
    topic: str,
    *,
    expected: int,
    timeout: float = 20.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topic`` from the beginning until ``expected`` records arrived (or time runs out).

    No consumer group and explicit assignment, so reading never disturbs the services' groups;
    ``end_offsets`` is never used because the embedded broker gets it wrong.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + timeout
        while not partitions and time.monotonic() < deadline:
            await consumer.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return []
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=100)
            for part in batch.values():
                records.extend(part)
        return records
    finally:
        await consumer.stop()


async def read_topics(
    bootstrap_servers: str, topics: Sequence[str], *, quiet: float = 1.0, timeout: float = 20.0
) -> dict[str, list[ConsumerRecord[bytes, bytes]]]:
    """Everything in ``topics`` (each in its partitions' order): read from the beginning until
    no record came for ``quiet`` seconds. Topics that do not exist read as empty.

    For "nothing else is there" checks (a dead-letter topic holds exactly these): no consumer
    group, and no ``end_offsets``, which the embedded broker gets wrong.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        existing = await consumer.topics()
        assigned = [
            TopicPartition(topic, partition)
            for topic in topics
            if topic in existing
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        found: dict[str, list[ConsumerRecord[bytes, bytes]]] = {topic: [] for topic in topics}
        if not assigned:
            return found
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        deadline = time.monotonic() + timeout
        last_news = time.monotonic()
        while time.monotonic() - last_news < quiet and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=100)
            for tp, records in batch.items():
                found[tp.topic].extend(records)
                last_news = time.monotonic()
        return found
    finally:
        await consumer.stop()


async def send_raw(
    bootstrap_servers: str,
    topic: str,
    values: Sequence[bytes],
    *,
    key: bytes | None = None,
    headers: Sequence[tuple[str, bytes]] = (),
) -> None:
    """Produce raw bytes to ``topic`` (e.g. a poison message or a duplicate), acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value=value, key=key, headers=list(headers))
    finally:
        await producer.stop()
