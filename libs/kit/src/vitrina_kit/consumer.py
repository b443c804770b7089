"""The idempotent consumer runner: Kafka in, one transaction per event, offsets after commit.

For every record: parse the CloudEvent (unparseable -> dead letter at once), find the handler
for its type (unknown types are skipped: consumers ignore what they do not know), then in one
transaction record the event id in ``inbox_messages`` and run the handler. A redelivered event
finds its id already there and changes nothing. Failures are retried in process with
exponential backoff and jitter; what still fails goes to ``<topic>.dlq`` with the error in its
headers, and the partition moves on. Offsets are committed only after all that.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError
from sqlalchemy import BigInteger, DateTime, Integer, String, Table, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from tenacity import AsyncRetrying, retry_if_not_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from vitrina_contracts.envelope import (
    CloudEvent,
    InvalidEnvelope,
    InvalidEventData,
    decode_event,
)
from vitrina_contracts.events.base import Event
from vitrina_kit import context
from vitrina_kit.db import KitBase, transaction

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)

DLQ_HEADER_PREFIX = "vitrina-dlq-"


class InboxMessage(KitBase):
    """An event a consumer has applied; its presence makes redelivery a no-op."""

    __tablename__ = "inbox_messages"

    consumer: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(249))
    source_partition: Mapped[int] = mapped_column(Integer)
    source_offset: Mapped[int] = mapped_column(BigInteger)
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


# Core statements on the hot path: no ORM bookkeeping per event.
_inbox = cast(Table, InboxMessage.__table__)


@dataclass(frozen=True)
class Received(Generic[E]):
    """An event as a handler receives it: the typed event plus its envelope and position."""

    event: E
    envelope: CloudEvent
    topic: str
    partition: int
    offset: int


Handler = Callable[[AsyncSession, Received[Any]], Awaitable[None]]
"""A handler applies one event in the caller's transaction; it may ``flush()``, never commit."""


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the event goes to the DLQ at once."""


class ConsumerRunner:
    """Runs one consumer group over the topics its handlers need.

    ``handlers`` is the service's event map (event class -> handler). Partitions of one batch are
    handled concurrently, records of one partition strictly in order.
    """

    def __init__(
        self,
        *,
        group_id: str,
        bootstrap_servers: str,
        sessions: async_sessionmaker[AsyncSession],
        handlers: Mapping[type[Event], Handler],
        producer: AIOKafkaProducer,
        max_attempts: int = 4,
        retry_base_seconds: float = 0.2,
        fetch_max_wait_ms: int = 100,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        max_records: int = 200,
    ) -> None:
        self.group_id = group_id
        self._sessions = sessions
        self._handlers = dict(handlers)
        self._producer = producer
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._max_records = max_records
        self.topics: Sequence[str] = sorted({cls.topic for cls in self._handlers})
        self._consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=f"{group_id}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, then finish the record in hand, commit and close."""
        if not self.topics:
            return
        await self._consumer.start()
        logger.info("consumer started", extra={"group": self.group_id, "topics": self.topics})
        try:
            while not stop.is_set():
                batch = await self._consumer.getmany(timeout_ms=200, max_records=self._max_records)
                if not batch:
                    continue
                done = await asyncio.gather(
                    *(self._process_partition(tp, records, stop) for tp, records in batch.items())
                )
                offsets = {tp: offset for tp, offset in done if offset is not None}
                if offsets:
                    await self._commit(offsets)
        finally:
            await self._consumer.stop()
            logger.info("consumer stopped", extra={"group": self.group_id})

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError:
            # The group rebalanced while the batch was in hand: the partitions' new owner gets
            # these records again, and the inbox makes that second delivery a no-op.
            logger.warning("offsets not committed: the group rebalanced", exc_info=True)

    async def _process_partition(
        self,
        tp: TopicPartition,
        records: Sequence[ConsumerRecord[bytes, bytes]],
        stop: asyncio.Event,
    ) -> tuple[TopicPartition, int | None]:
        next_offset: int | None = None
        for record in records:
            if stop.is_set():
                break  # graceful stop: commit what is done, the rest is redelivered
            await self.process(record)
            next_offset = record.offset + 1
        return tp, next_offset

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Apply one record exactly once, or dead-letter it. Raises only if the DLQ is down."""
        try:
            envelope = CloudEvent.from_json_bytes(record.value or b"")
            event = decode_event(envelope)
        except (InvalidEnvelope, InvalidEventData) as error:
            await self._dead_letter(record, error, attempts=0)
            return
        if event is None or type(event) not in self._handlers:
            return  # a type this service does not handle
        handler = self._handlers[type(event)]
        received = Received(
            event=event,
            envelope=envelope,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        attempts, applied = 0, False
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_random_exponential(multiplier=self._retry_base, max=10),
            retry=retry_if_not_exception_type(PermanentError),
            reraise=True,
        )
        correlation = envelope.correlationid or str(envelope.id)
        with context.bound(
            correlation=correlation, causation=str(envelope.id), event_type=envelope.type
        ):
            started = time.perf_counter()
            try:
                async for attempt in retrying:
                    with attempt:
                        attempts += 1
                        applied = await self._apply_once(handler, received)
                logger.info(
                    "event handled" if applied else "duplicate event ignored",
                    extra={
                        "event_id": str(envelope.id),
                        "attempts": attempts,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            except Exception as error:
                logger.warning(
                    "event failed, dead-lettering",
                    extra={"event_id": str(envelope.id), "attempts": attempts},
                    exc_info=True,
                )
                await self._dead_letter(record, error, attempts=attempts)

    async def _apply_once(self, handler: Handler, received: Received[Any]) -> bool:
        """Record the event id and run the handler, in one transaction; False if seen before."""
        envelope = received.envelope
        async with transaction(self._sessions) as session:
            # A concurrent replica holding the same event id makes this insert wait for it,
            # then find the row: the second delivery is a no-op either way.
            first_time = await session.scalar(
                insert(_inbox)
                .values(
                    consumer=self.group_id,
                    event_id=str(envelope.id),
                    event_type=envelope.type,
                    topic=received.topic,
                    source_partition=received.partition,
                    source_offset=received.offset,
                )
                .on_conflict_do_nothing()
                .returning(_inbox.c.event_id)
            )
            if first_time is None:
                return False
            await handler(session, received)
            return True

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: BaseException, *, attempts: int
    ) -> None:
        detail = "".join(traceback.format_exception_only(error)).strip()
        headers = [
            *[(name, value) for name, value in (record.headers or ())],
            (DLQ_HEADER_PREFIX + "error", detail[:4000].encode()),
            (DLQ_HEADER_PREFIX + "error-type", type(error).__qualname__.encode()),
            (DLQ_HEADER_PREFIX + "attempts", str(attempts).encode()),
            (DLQ_HEADER_PREFIX + "topic", record.topic.encode()),
            (DLQ_HEADER_PREFIX + "partition", str(record.partition).encode()),
            (DLQ_HEADER_PREFIX + "offset", str(record.offset).encode()),
            (DLQ_HEADER_PREFIX + "consumer-group", self.group_id.encode()),
            (DLQ_HEADER_PREFIX + "failed-at", datetime.now(UTC).isoformat().encode()),
        ]
        # Awaited: the offset may be committed only once the dead letter is safely stored.
        await (
            await self._producer.send(
                record.topic + ".dlq", value=record.value, key=record.key, headers=headers
            )
        )
        logger.error(
            "dead letter written",
            extra={"topic": record.topic, "offset": record.offset, "error": detail[:500]},
        )
