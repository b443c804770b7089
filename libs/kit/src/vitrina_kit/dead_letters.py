"""Dead letters for the operator: list a topic's DLQ, and replay chosen records.

A dead letter is a record the :class:`~vitrina_kit.consumer.ConsumerRunner` gave up on, copied
to ``<topic>.dlq`` with ``vitrina-dlq-*`` headers: the error, the attempts made, the record's
original position and the consumer group that failed it. Every group of a topic shares its DLQ,
so a service only ever sees (and replays) the dead letters of its own group.

Reading uses an assigned consumer without a group, from the beginning of every partition up to
the high watermark seen in fetch responses (``consumer.highwater``), never ``end_offsets``: the
embedded test broker gets ListOffsets wrong (BROKER.md), and reading past the end would stall.

Replaying republishes a record, with its key and its own headers, to the original topic. Every
consumer group of that topic gets it again, and that is harmless: the groups that applied the
event find its id in their inbox and change nothing, the one that failed it tries again. Each
replay is recorded in ``dead_letter_replays`` so the same dead letter is not replayed twice.

:class:`DeadLetterQueueGauge` measures how many records the DLQs hold, for
``vitrina_dead_letter_queue_messages``, the same way and without joining any group.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_kit import kafka, metrics
from vitrina_kit.aio import sleep_unless
from vitrina_kit.consumer import DLQ_HEADER_PREFIX, RETRY_HEADER_PREFIX, Position
from vitrina_kit.db import KitBase

logger = logging.getLogger(__name__)

REPLAYED_FROM_HEADER = "vitrina-replayed-from"
"""Header of a replayed record: ``<dlq topic>/<partition>/<offset>`` it was replayed from."""

DeadLetterId = tuple[int, int]
"""A dead letter's place in its DLQ topic: (partition, offset)."""

dead_letter_replays = Table(
    "dead_letter_replays",
    KitBase.metadata,
    Column("dlq_topic", String(249), primary_key=True),
    Column("dlq_partition", Integer, primary_key=True),
    Column("dlq_offset", BigInteger, primary_key=True),
    Column("event_id", String(36), nullable=True),
    Column("replayed_by", String(200), nullable=False),
    Column("replayed_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)
"""Dead letters already replayed. The key is the DLQ position: a Kafka offset is never reused
(a topic deleted and created again would be the exception, and would need this table cleared)."""


@dataclass(frozen=True)
class DeadLetter:
    """One record of a DLQ topic, its ``vitrina-dlq-*`` headers read for the operator."""

    partition: int
    offset: int
    key: str | None
    event_id: str | None
    event_type: str | None
    error: str
    error_type: str
    attempts: int
    original: Position
    consumer_group: str
    failed_at: datetime | None
    value: bytes = field(repr=False)
    headers: tuple[tuple[str, bytes], ...] = field(repr=False)

    @property
    def id(self) -> DeadLetterId:
        return (self.partition, self.offset)

    @classmethod
    def from_record(cls, record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
        headers: dict[str, str] = {
            name: value.decode(errors="replace") for name, value in (record.headers or ())
        }

        def dlq(name: str, default: str = "") -> str:
            return headers.get(DLQ_HEADER_PREFIX + name, default)

        event_id, event_type = _event_identity(record.value or b"")
        return cls(
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode(errors="replace") if record.key is not None else None,
            event_id=event_id,
            event_type=event_type,
            error=dlq("error"),
            error_type=dlq("error-type"),
            attempts=_int(dlq("attempts", "0")),
            original=Position(
                topic=dlq("topic"),
                partition=_int(dlq("partition", "-1")),
                offset=_int(dlq("offset", "-1")),
            ),
            consumer_group=dlq("consumer-group"),
            failed_at=_instant(dlq("failed-at")),
            value=record.value or b"",
            headers=tuple(record.headers or ()),
        )


@dataclass(frozen=True)
class DeadLetterPage:
    items: list[DeadLetter]
    complete: bool
    """False when the limit or the time ran out before every partition was read to its end."""


async def read_dead_letters(
    bootstrap_servers: str,
    dlq_topic: str,
    *,
    group_id: str,
    limit: int,
    timeout: float = 10.0,
) -> DeadLetterPage:
    """The dead letters of ``group_id`` in ``dlq_topic``, oldest first per partition, at most
    ``limit`` of them (the first ones found; ``complete`` says whether that was all)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        client_id=f"{group_id}-dead-letters",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(dlq_topic)
        if not partitions:
            await consumer.force_metadata_update()
            partitions = consumer.partitions_for_topic(dlq_topic)
        if not partitions:
            return DeadLetterPage(items=[], complete=True)
        remaining = {TopicPartition(dlq_topic, p) for p in partitions}
        consumer.assign(sorted(remaining))
        await consumer.seek_to_beginning(*remaining)
        found: list[DeadLetter] = []
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            batch = await consumer.getmany(*remaining, timeout_ms=200)
            for records in batch.values():
                for record in records:
                    if _group_of(record) == group_id:
                        found.append(DeadLetter.from_record(record))
                        if len(found) >= limit:
                            return DeadLetterPage(items=found, complete=False)
            for tp in list(remaining):
                # The high watermark arrives with each fetch response (None before the first):
                # a partition is read once the position has reached it.
                highwater = consumer.highwater(tp)
                if highwater is not None and await consumer.position(tp) >= highwater:
                    remaining.discard(tp)
        return DeadLetterPage(items=found, complete=not remaining)
    finally:
        await consumer.stop()


class DeadLetterQueueGauge:
    """Sets ``vitrina_dead_letter_queue_messages`` for the DLQs of ``topics`` (original topics,
    the label's values): the records each holds, every group's, replayed or not.

    Each round a throwaway consumer without a group (nothing joined, nothing committed: the
    service's group never notices) reads every DLQ partition's log start offset and takes the
    high watermark from a fetch response, never from ``end_offsets`` (wrong on the embedded
    broker). Fetching starts where the previous round's watermark was, so a large DLQ is not
    read again every round.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Iterable[str],
        *,
        client_id: str,
        timeout: float = 10.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = sorted(set(topics))
        self.client_id = client_id
        self.timeout = timeout
        self._read_to: dict[TopicPartition, int] = {}

    async def run(self, stop: asyncio.Event, *, interval_seconds: float) -> None:
        """Measure every ``interval_seconds`` until ``stop`` is set; a round under way when it
        is set is abandoned (shutdown does not wait for the broker)."""
        while not stop.is_set():
            measuring = asyncio.ensure_future(self.measure())
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait((measuring, stopping), return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not measuring.done():
                measuring.cancel()
                await asyncio.gather(measuring, return_exceptions=True)
                return
            await sleep_unless(stop, interval_seconds)

    async def measure(self) -> dict[str, int]:
        """One round: the size of each DLQ measured (by original topic), now set on the gauge.

        A DLQ that does not exist yet, or a partition that did not answer in time, leaves its
        gauge as it was; a failure is logged, never raised (it is only a metric).
        """
        try:
            sizes = await self._sizes()
        except Exception:
            logger.warning("dead-letter queue sizes not measured", exc_info=True)
            return {}
        for topic, size in sizes.items():
            metrics.DEAD_LETTER_QUEUE_MESSAGES.labels(topic).set(size)
        return sizes

    async def _sizes(self) -> dict[str, int]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
            request_timeout_ms=5_000,
        )
        await consumer.start()
        try:
            # Every topic in one metadata request: naming a missing one would create it on the
            # embedded broker.
            existing = await consumer.topics()
            by_dlq = {f"{topic}.dlq": topic for topic in self.topics}
            partitions = [
                TopicPartition(dlq, partition)
                for dlq in by_dlq
                if dlq in existing
                for partition in sorted(consumer.partitions_for_topic(dlq) or ())
            ]
            if not partitions:
                return {}
            log_start = await consumer.beginning_offsets(partitions)
            consumer.assign(partitions)
            for tp in partitions:
                # Never past the end: the embedded broker would not answer at all.
                consumer.seek(tp, max(log_start[tp], self._read_to.get(tp, 0)))
            highwater: dict[TopicPartition, int] = {}
            deadline = time.monotonic() + self.timeout
            while len(highwater) < len(partitions) and time.monotonic() < deadline:
                await consumer.getmany(timeout_ms=200)
                for tp in partitions:
                    mark = consumer.highwater(tp)
                    if mark is not None:
                        highwater[tp] = mark
        finally:
            await consumer.stop()
        sizes: dict[str, int] = {}
        unanswered: set[str] = set()
        for tp in partitions:
            mark = highwater.get(tp)
            if mark is None:
                # Start from the log start next time, in case the topic was made anew.
                self._read_to.pop(tp, None)
                unanswered.add(tp.topic)
                continue
            self._read_to[tp] = mark
            topic = by_dlq[tp.topic]
            sizes[topic] = sizes.get(topic, 0) + max(mark - log_start[tp], 0)
        if unanswered:
            logger.warning(
                "dead-letter queue partitions did not answer", extra={"topics": sorted(unanswered)}
            )
        return {topic: size for topic, size in sizes.items() if f"{topic}.dlq" not in unanswered}


async def replayed_at(
    session: AsyncSession, dlq_topic: str, ids: Collection[DeadLetterId]
) -> dict[DeadLetterId, datetime]:
    """When each of ``ids`` was replayed, for those that were."""
    if not ids:
        return {}
    t = dead_letter_replays.c
    rows = await session.execute(
        select(t.dlq_partition, t.dlq_offset, t.replayed_at).where(
            t.dlq_topic == dlq_topic, tuple_(t.dlq_partition, t.dlq_offset).in_(list(ids))
        )
    )
    return {(p, o): at for p, o, at in rows}


@dataclass(frozen=True)
class ReplayOutcome:
    replayed: list[DeadLetter]
    already_replayed: list[DeadLetterId]
    not_found: list[DeadLetterId]


async def replay_dead_letters(
    session: AsyncSession,
    bootstrap_servers: str,
    *,
    topic: str,
    group_id: str,
    ids: Sequence[DeadLetterId] | None,
    replayed_by: str,
    limit: int = 10_000,
) -> ReplayOutcome:
    """Republish ``group_id``'s dead letters of ``topic`` (those at ``ids``, or all when None)
    to ``topic``, each at most once ever.

    The replay is recorded in the caller's transaction *before* publishing: a concurrent replay
    of the same dead letter waits on the row and then skips it. If publishing fails the error
    propagates and the transaction rolls back, so nothing is marked replayed; records already
    republished by then may go out a second time on the next try, which the inbox makes harmless.
    """
    dlq_topic = f"{topic}.dlq"
    page = await read_dead_letters(bootstrap_servers, dlq_topic, group_id=group_id, limit=limit)
    by_id = {letter.id: letter for letter in page.items}
    chosen = list(by_id) if ids is None else list(dict.fromkeys(ids))
    not_found = [i for i in chosen if i not in by_id]
    replayed: list[DeadLetter] = []
    already: list[DeadLetterId] = []
    producer = kafka.create_producer(bootstrap_servers, client_id=f"{group_id}-replay")
    await producer.start()
    try:
        for letter_id in chosen:
            letter = by_id.get(letter_id)
            if letter is None:
                continue
            first_time = await session.scalar(
                insert(dead_letter_replays)
                .values(
                    dlq_topic=dlq_topic,
                    dlq_partition=letter.partition,
                    dlq_offset=letter.offset,
                    event_id=letter.event_id,
                    replayed_by=replayed_by,
                )
                .on_conflict_do_nothing()
                .returning(dead_letter_replays.c.dlq_offset)
            )
            if first_time is None:
                already.append(letter_id)
                continue
            headers = [
                *(
                    (name, value)
                    for name, value in letter.headers
                    if not name.startswith((DLQ_HEADER_PREFIX, RETRY_HEADER_PREFIX))
                ),
                (REPLAYED_FROM_HEADER, f"{dlq_topic}/{letter.partition}/{letter.offset}".encode()),
            ]
            key = letter.key.encode() if letter.key is not None else None
            await producer.send_and_wait(topic, value=letter.value, key=key, headers=headers)
            replayed.append(letter)
    finally:
        await producer.stop()
    return ReplayOutcome(replayed=replayed, already_replayed=already, not_found=not_found)


def _group_of(record: ConsumerRecord[bytes, bytes]) -> str | None:
    for name, value in record.headers or ():
        if name == DLQ_HEADER_PREFIX + "consumer-group":
            return str(value.decode(errors="replace"))
    return None


def _event_identity(value: bytes) -> tuple[str | None, str | None]:
    """The CloudEvent's id and type, if the value is readable enough to have them."""
    try:
        envelope = json.loads(value)
    except (ValueError, RecursionError):  # a poison message may be nested past the limit
        return None, None
    if not isinstance(envelope, dict):
        return None, None
    event_id, event_type = envelope.get("id"), envelope.get("type")
    return (
        event_id if isinstance(event_id, str) else None,
        event_type if isinstance(event_type, str) else None,
    )


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


def _instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
