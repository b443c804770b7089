"""Kafka clients configured the one way Vitrina uses them, and topics created from the registry."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from vitrina_contracts.registry import RETRY_STAGES, TOPICS, Topic

logger = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS = 36


def create_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    """An at-least-once producer: every write acknowledged by all in-sync replicas.

    Not idempotent on purpose: the outbox already makes publishing at-least-once and consumers
    deduplicate by event id, and the embedded test broker has no idempotent producer.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=15_000,
    )


def topic_names(
    topics: Iterable[Topic] = TOPICS, *, retry_stages: Sequence[str] = RETRY_STAGES
) -> dict[str, Topic]:
    """Every topic name to create for ``topics``: the topic itself, its delayed-retry topics
    (one per stage, as the consumers are configured) and its dead-letter topic.

    Retry and dead-letter topics get the main topic's partition count and retention: a record
    keeps its key there, and it must outlive the longest wait before someone looks at it.
    """
    names: dict[str, Topic] = {}
    for topic in topics:
        names[topic.name] = topic
        for stage in retry_stages:
            names[topic.retry_topic(stage)] = topic
        names[topic.dlq] = topic
    return names


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[Topic] = TOPICS,
    *,
    replication_factor: int = 1,
    retry_stages: Sequence[str] = RETRY_STAGES,
) -> list[str]:
    """Create the registry's topics (with their retry and dead-letter topics) that do not exist
    yet; return those created.

    Idempotent, so every service may call it at start-up: auto-creation would otherwise make
    topics with the broker's default partition count the first time anyone touches them.
    ``retry_stages`` must match the consumers' (see :class:`vitrina_kit.consumer.ConsumerRunner`).
    """
    wanted = topic_names(topics, retry_stages=retry_stages)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="vitrina-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return []
        configs = {
            name: {"retention.ms": str(wanted[name].retention_ms)}
            if wanted[name].retention_ms
            else {}
            for name in missing
        }
        response = await admin.create_topics(
            [
                NewTopic(
                    name=name,
                    num_partitions=wanted[name].partitions,
                    replication_factor=replication_factor,
                    topic_configs=configs[name],
                )
                for name in missing
            ]
        )
        for name, code, *_ in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}")
        logger.info("topics created", extra={"topics": missing})
        return missing
    finally:
        await admin.close()


async def ping(bootstrap_servers: str) -> None:
    """Raise unless the broker answers a metadata request."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="vitrina-health", request_timeout_ms=3000
    )
    await admin.start()
    try:
        await admin.list_topics()
    finally:
        await admin.close()
