"""The idempotent consumer runner: Kafka in, one transaction per event, offsets after commit.

For every record: parse the CloudEvent (unparseable -> dead letter at once), find the handler
for its type (unknown types are skipped: consumers ignore what they do not know), then in one
transaction record the event id in ``inbox_messages`` and run the handler. A redelivered event
finds its id already there and changes nothing. Offsets are committed only after all that.

Failures, in three tiers (DESIGN.md, "Retries and dead letters"):

1. **In process**: a few quick attempts with exponential backoff and jitter, for blips.
2. **Delayed retry topics**: what still fails is copied to the first retry stage,
   ``<topic>.retry.10s``, and the partition moves on. The runner consumes its retry topics too;
   a record there carries a not-before time, and while it is not due its retry partition is
   *paused* (and rewound to it), never the main topic's partitions. When due it is tried again
   (with the in-process attempts), and on failure moves to the next stage (``.retry.1m``,
   ``.retry.10m``).
3. **Dead letters**: after the last stage, or at once for a :class:`PermanentError` or input
   that cannot be parsed, the record goes to ``<topic>.dlq`` with the error, the attempt count
   and its original position in headers. An operator lists and replays them
   (:mod:`vitrina_kit.dead_letters`).

Retry topics are shared by every consumer group of a topic (like the topic itself); a retry
record names the group it is meant for and every other group skips it. A retried event is
applied after events that followed it on its partition: per-key order is given up for that one
event, which is why projections apply events by aggregate version (DESIGN.md) and ignore stale
ones. The inbox keeps effects exactly-once whatever path an event takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from opentelemetry.trace import INVALID_SPAN, Span, StatusCode
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
from vitrina_contracts.registry import RETRY_STAGES
from vitrina_contracts.registry import topic as registered_topic
from vitrina_kit import context, metrics, tracing
from vitrina_kit.db import KitBase, transaction

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)

DLQ_HEADER_PREFIX = "vitrina-dlq-"
RETRY_HEADER_PREFIX = "vitrina-retry-"
"""Headers of a record in a retry topic: ``consumer-group`` (the only group that acts on it),
``attempts`` (made so far, all stages), ``not-before`` (ISO 8601, UTC), the original ``topic``,
``partition`` and ``offset``, and the last ``error`` and ``error-type``."""

_STAGE_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def stage_delay(stage: str) -> float:
    """The wait of a retry stage, in seconds, from its name: ``500ms``, ``10s``, ``1m``, ``2h``.

    Raises:
        ValueError: not a whole positive number followed by one of ms, s, m, h.
    """
    for unit in ("ms", "s", "m", "h"):  # "ms" before "s" and "m"
        number = stage.removesuffix(unit)
        if number != stage:
            if number.isdigit() and int(number) > 0:
                return int(number) * _STAGE_UNITS[unit]
            break
    raise ValueError(f"a retry stage is a delay such as 500ms, 10s, 1m or 2h, not {stage!r}")


def parse_retry_stages(text: str) -> tuple[str, ...]:
    """Retry stages from settings-friendly text: ``"10s,1m,10m"``; empty means none (a record
    that fails its in-process attempts goes straight to the DLQ)."""
    stages = tuple(part.strip() for part in text.split(",") if part.strip())
    for stage in stages:
        stage_delay(stage)
    if len(set(stages)) != len(stages):
        raise ValueError(f"a retry stage is given twice: {text!r}")
    return stages


@dataclass(frozen=True)
class Position:
    """Where a record was first published: what the inbox, the DLQ and the operator refer to."""

    topic: str
    partition: int
    offset: int


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

    ``max_attempts`` and ``retry_base_seconds`` shape the in-process retries; ``retry_stages``
    are the delayed-retry stages, by delay (``parse_retry_stages("10s,1m,10m")`` reads them
    from a setting; ``()`` sends what still fails straight to the DLQ). The runner subscribes
    to the retry topic of every stage of every topic it handles, so those topics must exist:
    ``kafka.ensure_topics(..., retry_stages=...)`` with the same stages creates them.
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
        retry_stages: Sequence[str] = RETRY_STAGES,
        service_tracing: tracing.ServiceTracing | None = None,
    ) -> None:
        for stage in retry_stages:
            stage_delay(stage)  # fail at start, not at the first failure
        self.group_id = group_id
        self._tracing = service_tracing
        self._sessions = sessions
        self._handlers = dict(handlers)
        self._producer = producer
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._max_records = max_records
        self.topics: Sequence[str] = sorted({cls.topic for cls in self._handlers})
        self.retry_stages: Sequence[str] = tuple(retry_stages)
        # retry topic -> (its main topic, index of its stage)
        self._stage_of: dict[str, tuple[str, int]] = {
            registered_topic(name).retry_topic(stage): (name, index)
            for name in self.topics
            for index, stage in enumerate(self.retry_stages)
        }
        # Paused retry partitions and when their first waiting record falls due.
        self._waiting: dict[TopicPartition, datetime] = {}
        self._metrics = metrics.ConsumerMetrics(group_id)
        self._consumer = AIOKafkaConsumer(
            *self.topics,
            *self._stage_of,
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
                self._resume_due_partitions()
                await self._report_lag()
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
            self._metrics.forget_lag()
            await self._consumer.stop()
            logger.info("consumer stopped", extra={"group": self.group_id})

    async def _report_lag(self) -> None:
        """Every owned partition's lag, from the high watermark of its last fetch response
        (``end_offsets`` is wrong on the embedded broker, BROKER.md) and the position."""
        assigned = self._consumer.assignment()
        self._metrics.keep_lag_of(set(assigned))
        for tp in assigned:
            highwater = self._consumer.highwater(tp)
            if highwater is not None:  # fetched, so its position is known: no wait below
                with contextlib.suppress(IllegalStateError):  # revoked meanwhile
                    self._metrics.lag(tp, highwater, await self._consumer.position(tp))

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
            if tp.topic in self._stage_of:
                headers = _header_map(record)
                if headers.get(RETRY_HEADER_PREFIX + "consumer-group") != self.group_id:
                    next_offset = record.offset + 1  # another group's retry: not ours to act on
                    continue
                due = _not_before(headers)
                if due is not None and due > datetime.now(UTC):
                    self._wait(tp, record.offset, due)
                    break  # what follows in this partition was written later: not due either
            await self.process(record)
            next_offset = record.offset + 1
            self._metrics.lag(tp, self._consumer.highwater(tp), next_offset)
        return tp, next_offset

    def _wait(self, tp: TopicPartition, offset: int, due: datetime) -> None:
        """Stop fetching ``tp`` until ``due``, and fetch again from ``offset`` then.

        Pausing affects this retry partition alone: the main topics, and the other retry
        partitions, go on being fetched by the same ``getmany``. The records after ``offset``
        already fetched are dropped by the seek and fetched again once resumed.
        """
        self._consumer.pause(tp)
        self._consumer.seek(tp, offset)
        self._waiting[tp] = due

    def _resume_due_partitions(self) -> None:
        now = datetime.now(UTC)
        for tp, due in list(self._waiting.items()):
            if due <= now:
                del self._waiting[tp]
                # Lost in a rebalance meanwhile? Its new owner starts from the committed
                # offset, which is the waiting record, and waits for it the same way.
                if tp in self._consumer.assignment():
                    self._consumer.resume(tp)

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Apply one record exactly once, or pass it to the next retry stage or the DLQ.

        Raises only if the retry topic or the DLQ cannot be written to.
        """
        origin, earlier_attempts = Position(record.topic, record.partition, record.offset), 0
        if record.topic in self._stage_of:  # retry headers count only where we wrote them
            headers = _header_map(record)
            origin = _origin(record, headers)
            earlier_attempts = _int_header(headers, RETRY_HEADER_PREFIX + "attempts")
        try:
            envelope = CloudEvent.from_json_bytes(record.value or b"")
            event = decode_event(envelope)
        except (InvalidEnvelope, InvalidEventData) as error:
            # Parsing again later gives the same answer: no retry stage.
            await self._dead_letter(record, origin, error, attempts=earlier_attempts)
            self._metrics.event(metrics.UNPARSEABLE_EVENT, "dead_lettered")
            return
        if event is None or type(event) not in self._handlers:
            # A type this service does not handle.
            known = event is not None
            self._metrics.event(envelope.type if known else metrics.UNKNOWN_EVENT, "ignored")
            return
        handler = self._handlers[type(event)]
        received = Received(
            event=event,
            envelope=envelope,
            topic=origin.topic,
            partition=origin.partition,
            offset=origin.offset,
        )
        attempts, applied = 0, False
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_random_exponential(multiplier=self._retry_base, max=10),
            retry=retry_if_not_exception_type(PermanentError),
            reraise=True,
        )
        correlation = envelope.correlationid or str(envelope.id)
        with (
            self._processing_span(record, received) as span,
            context.bound(
                correlation=correlation,
                causation=str(envelope.id),
                event_type=envelope.type,
                event_id=str(envelope.id),
            ),
        ):
            started = time.perf_counter()
            try:
                async for attempt in retrying:
                    with attempt, self._metrics.handling(envelope.type):
                        attempts += 1
                        applied = await self._apply_once(handler, received)
                self._metrics.retried(origin.topic, attempts - 1)
                self._metrics.event(envelope.type, "handled" if applied else "duplicate")
                logger.info(
                    "event handled" if applied else "duplicate event ignored",
                    extra={
                        "event_id": str(envelope.id),
                        "attempts": attempts,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            except Exception as error:
                span.record_exception(error)
                span.set_status(StatusCode.ERROR, type(error).__name__)
                self._metrics.retried(origin.topic, attempts - 1)
                attempts += earlier_attempts
                next_stage = self._next_stage(record.topic)
                if next_stage is None or isinstance(error, PermanentError):
                    logger.warning(
                        "event failed, dead-lettering",
                        extra={"event_id": str(envelope.id), "attempts": attempts},
                        exc_info=True,
                    )
                    await self._dead_letter(record, origin, error, attempts=attempts)
                    self._metrics.event(envelope.type, "dead_lettered")
                else:
                    logger.warning(
                        "event failed, retrying later",
                        extra={
                            "event_id": str(envelope.id),
                            "attempts": attempts,
                            "stage": next_stage,
                        },
                        exc_info=True,
                    )
                    await self._retry_later(record, origin, error, attempts, next_stage)
                    self._metrics.retried(origin.topic)
                    self._metrics.event(envelope.type, "retried")

    def _processing_span(
        self, record: ConsumerRecord[bytes, bytes], received: Received[Any]
    ) -> contextlib.AbstractContextManager[Span]:
        """The CONSUMER span the handler runs in, under the context the event was written in
        (a no-op span where tracing is off)."""
        if self._tracing is None:
            return contextlib.nullcontext(INVALID_SPAN)
        return tracing.processing(
            self._tracing.tracer,
            headers=_header_map(record),
            envelope_traceparent=received.envelope.traceparent,
            topic=received.topic,
            partition=received.partition,
            offset=received.offset,
            group=self.group_id,
            event_id=str(received.envelope.id),
            event_type=received.envelope.type,
        )

    def _next_stage(self, topic: str) -> str | None:
        """The retry stage after the one ``topic`` belongs to (the first, for a main topic)."""
        _, index = self._stage_of.get(topic, (topic, -1))
        following = index + 1
        return self.retry_stages[following] if following < len(self.retry_stages) else None

    async def _retry_later(
        self,
        record: ConsumerRecord[bytes, bytes],
        origin: Position,
        error: BaseException,
        attempts: int,
        stage: str,
    ) -> None:
        not_before = datetime.now(UTC) + timedelta(seconds=stage_delay(stage))
        headers = [
            *_carried_headers(record),
            (RETRY_HEADER_PREFIX + "consumer-group", self.group_id.encode()),
            (RETRY_HEADER_PREFIX + "attempts", str(attempts).encode()),
            (RETRY_HEADER_PREFIX + "not-before", not_before.isoformat().encode()),
            *_position_headers(RETRY_HEADER_PREFIX, origin),
            *_error_headers(RETRY_HEADER_PREFIX, error),
        ]
        # Awaited: the offset may be committed only once the copy is safely stored. The key is
        # kept, so the record lands on the same partition number as its original.
        await (
            await self._producer.send(
                registered_topic(origin.topic).retry_topic(stage),
                value=record.value,
                key=record.key,
                headers=headers,
            )
        )

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
        self,
        record: ConsumerRecord[bytes, bytes],
        origin: Position,
        error: BaseException,
        *,
        attempts: int,
    ) -> None:
        headers = [
            *_carried_headers(record),
            *_error_headers(DLQ_HEADER_PREFIX, error),
            (DLQ_HEADER_PREFIX + "attempts", str(attempts).encode()),
            *_position_headers(DLQ_HEADER_PREFIX, origin),
            (DLQ_HEADER_PREFIX + "consumer-group", self.group_id.encode()),
            (DLQ_HEADER_PREFIX + "failed-at", datetime.now(UTC).isoformat().encode()),
        ]
        # Awaited: the offset may be committed only once the dead letter is safely stored.
        await (
            await self._producer.send(
                origin.topic + ".dlq", value=record.value, key=record.key, headers=headers
            )
        )
        self._metrics.dead_lettered(origin.topic)
        logger.error(
            "dead letter written",
            extra={"topic": origin.topic, "offset": origin.offset, "error": str(error)[:500]},
        )


def _header_map(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    """The record's headers as text; of repeated names the last wins."""
    return {name: value.decode(errors="replace") for name, value in (record.headers or ())}


def _int_header(headers: Mapping[str, str], name: str) -> int:
    try:
        return int(headers.get(name, "0"))
    except ValueError:
        return 0


def _not_before(headers: Mapping[str, str]) -> datetime | None:
    raw = headers.get(RETRY_HEADER_PREFIX + "not-before")
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None  # unreadable: due now rather than never


def _origin(record: ConsumerRecord[bytes, bytes], headers: Mapping[str, str]) -> Position:
    """The original position of a retry record (from its headers), else the record's own."""
    try:
        return Position(
            topic=headers[RETRY_HEADER_PREFIX + "topic"],
            partition=int(headers[RETRY_HEADER_PREFIX + "partition"]),
            offset=int(headers[RETRY_HEADER_PREFIX + "offset"]),
        )
    except (KeyError, ValueError):
        return Position(topic=record.topic, partition=record.partition, offset=record.offset)


def _carried_headers(record: ConsumerRecord[bytes, bytes]) -> list[tuple[str, bytes]]:
    """The record's own headers, without the bookkeeping of an earlier retry or dead letter."""
    return [
        (name, value)
        for name, value in (record.headers or ())
        if not name.startswith((RETRY_HEADER_PREFIX, DLQ_HEADER_PREFIX))
    ]


def _position_headers(prefix: str, position: Position) -> list[tuple[str, bytes]]:
    return [
        (prefix + "topic", position.topic.encode()),
        (prefix + "partition", str(position.partition).encode()),
        (prefix + "offset", str(position.offset).encode()),
    ]


def _error_headers(prefix: str, error: BaseException) -> list[tuple[str, bytes]]:
    detail = "".join(traceback.format_exception_only(error)).strip()
    return [
        (prefix + "error", detail[:4000].encode()),
        (prefix + "error-type", type(error).__qualname__.encode()),
    ]
