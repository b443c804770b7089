"""Transactional outbox: events commit with the state change that caused them.

:func:`add_event` writes the event into ``outbox_messages`` inside the caller's transaction; the
:class:`OutboxRelay` publishes committed rows to Kafka and marks them published. Nothing is
published that was not committed, and nothing committed stays unpublished: a relay that dies
after sending but before marking sends again, and consumers drop the copy by event id.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import cast

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError
from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    any_,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_contracts.envelope import CloudEvent, build_envelope
from vitrina_contracts.events.base import Event
from vitrina_kit import context, metrics, tracing
from vitrina_kit.aio import sleep_unless
from vitrina_kit.db import KitBase, transaction

logger = logging.getLogger(__name__)

# Rows are spread over lanes by key; one relay at a time owns a lane (an advisory lock), so
# events of one aggregate leave in commit order even with several relay replicas running.
LANES = 64
# Namespace of the relay's advisory locks: the first half of the two-int key.
_LANE_LOCK_NAMESPACE = 0x0B0C5

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


class OutboxMessage(KitBase):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The relay's only hot query: pending rows of a lane, in order.
        Index(
            "ix_outbox_messages_pending",
            "lane",
            "id",
            postgresql_where=text("published_at IS NULL AND parked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(249))
    message_key: Mapped[str] = mapped_column(String(200))
    lane: Mapped[int] = mapped_column(SmallInteger)
    headers: Mapped[list[list[str]]] = mapped_column(JSONB)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The table itself, for the relay's Core statements (no ORM bookkeeping on its hot path).
_outbox = cast(Table, OutboxMessage.__table__)
_INSERT_MESSAGES = insert(_outbox)


def lane_of(key: str) -> int:
    """The lane of a message key (stable across processes and Python versions)."""
    return zlib.crc32(key.encode()) % LANES


def source_of(event: Event) -> str:
    """The CloudEvents ``source``: the service that owns the event's topic."""
    return "/vitrina/" + event.topic.split(".", 1)[0]


@dataclass(frozen=True)
class Outgoing:
    """An event for :func:`add_events`, with what :func:`add_event` takes alongside it."""

    event: Event
    subject: str
    aggregate_version: int
    tenant_id: str | None = None


async def add_event(
    session: AsyncSession,
    event: Event,
    *,
    subject: str,
    aggregate_version: int,
    tenant_id: str | None = None,
) -> CloudEvent:
    """Write ``event`` to the outbox in the session's transaction and return its envelope.

    The subject (the aggregate id) is the Kafka key, so one aggregate's events stay in order.
    Correlation and causation ids come from the unit of work in progress.
    """
    [envelope] = await add_events(session, [Outgoing(event, subject, aggregate_version, tenant_id)])
    return envelope


async def add_events(session: AsyncSession, outgoing: Sequence[Outgoing]) -> list[CloudEvent]:
    """:func:`add_event` for several events at once: written in order, in one statement.

    A plain INSERT, executed now: nothing needs the rows as ORM objects, and many of them go
    to the database in one round trip.
    """
    envelopes: list[CloudEvent] = []
    rows: list[dict[str, object]] = []
    for item in outgoing:
        event = item.event
        envelope = build_envelope(
            event,
            source=source_of(event),
            subject=item.subject,
            aggregate_version=item.aggregate_version,
            tenant_id=item.tenant_id,
            correlation_id=context.correlation_id.get(),
            causation_id=context.causation_id.get(),
            # The span writing the row is the parent of the relay's send and the consumers'
            # process.
            traceparent=tracing.current_traceparent(),
        )
        headers = [
            ["content-type", CLOUDEVENTS_CONTENT_TYPE],
            ["ce_id", str(envelope.id)],
            ["ce_type", envelope.type],
        ]
        if envelope.traceparent:
            headers.append(["traceparent", envelope.traceparent])
        rows.append(
            {
                "event_id": str(envelope.id),
                "event_type": envelope.type,
                "topic": event.topic,
                "message_key": item.subject,
                "lane": lane_of(item.subject),
                "headers": headers,
                "payload": envelope.to_json_bytes(),
            }
        )
        envelopes.append(envelope)
    if rows:
        await session.execute(_INSERT_MESSAGES, rows)
    return envelopes


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    parked: int
    oldest_pending_age_seconds: float | None


async def backlog(session: AsyncSession) -> OutboxBacklog:
    """How much the relay still has to publish, and how long the oldest row has waited."""
    m = OutboxMessage
    row = (
        await session.execute(
            select(
                func.count().filter(m.published_at.is_(None), m.parked_at.is_(None)),
                func.count().filter(m.parked_at.is_not(None), m.published_at.is_(None)),
                func.min(m.created_at).filter(m.published_at.is_(None), m.parked_at.is_(None)),
            )
        )
    ).one()
    oldest: datetime | None = row[2]
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else None
    return OutboxBacklog(pending=row[0], parked=row[1], oldest_pending_age_seconds=age)


async def pending_backlog(session: AsyncSession) -> tuple[int, float]:
    """How many rows wait to be published and the oldest one's age in seconds (0 if none),
    through the relay's partial index only: cheap however many published rows are kept."""
    m = OutboxMessage
    count, age = (
        await session.execute(
            select(
                func.count(),
                # The database's clock on both sides: no skew between hosts.
                func.extract("epoch", func.now() - func.min(m.created_at)),
            ).where(m.published_at.is_(None), m.parked_at.is_(None))
        )
    ).one()
    return int(count), max(float(age or 0), 0.0)


async def parked_count(session: AsyncSession) -> int:
    """How many rows are parked (no index covers them: a scan, so asked for rarely)."""
    m = OutboxMessage
    return int(
        await session.scalar(
            select(func.count()).where(m.parked_at.is_not(None), m.published_at.is_(None))
        )
        or 0
    )


def _outcome(delivery: asyncio.Future[object]) -> object:
    """A send's result, its error, or a TimeoutError if the broker has not answered yet (a send
    answered later is harmless: the row is sent again and consumers drop the copy)."""
    if not delivery.done():
        return TimeoutError("the broker did not acknowledge the send in time")
    if delivery.cancelled():
        return asyncio.CancelledError()
    return delivery.exception() or delivery.result()


def _ignore_outcome(delivery: asyncio.Future[object]) -> None:
    if not delivery.cancelled():
        delivery.exception()  # retrieved, so asyncio does not log it as never retrieved


class RelayStalled(RuntimeError):
    """The broker left the relay's sends unanswered pass after pass.

    Raised out of :meth:`OutboxRelay.run` so the process ends and its supervisor starts it again
    with a new producer: a client wedged by a broker restart is not worth nursing in place.
    """


def _broker_away(error: BaseException) -> bool:
    """Whether a failed send says nothing about the row itself: the broker is unreachable,
    restarting or electing a leader (Kafka's retriable errors, and no answer in time). Such
    failures are retried without counting toward parking the row."""
    return isinstance(error, KafkaTimeoutError | TimeoutError) or bool(
        getattr(error, "retriable", False)
    )


class OutboxRelay:
    """Publishes committed outbox rows to Kafka, lane by lane, and marks them published.

    Safe to run as several replicas: a lane is worked by whoever holds its advisory lock, and
    ``FOR UPDATE SKIP LOCKED`` keeps replicas off rows another transaction is publishing.
    A row that keeps failing for a reason of its own (too large, say) is parked after
    ``max_attempts`` and shows in :func:`backlog`; a broker that is away parks nothing. Sends not
    acknowledged within ``publish_timeout`` leave their rows pending, and ``max_stalled_passes``
    such passes in a row end :meth:`run` with :class:`RelayStalled`.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.05,
        max_attempts: int = 10,
        concurrency: int = 4,
        service: str = "unknown",
        metrics_refresh_seconds: float = 5.0,
        service_tracing: tracing.ServiceTracing | None = None,
        publish_timeout: float = 30.0,
        max_stalled_passes: int = 3,
    ) -> None:
        self._sessions = sessions
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_attempts = max_attempts
        self._concurrency = asyncio.Semaphore(concurrency)
        self._service = service
        self._metrics_refresh = metrics_refresh_seconds
        self._metrics_due = 0.0  # monotonic time of the next backlog measurement
        self._measurements = 0
        # Send spans only where they are recorded: nothing downstream needs their context.
        self._tracing = service_tracing
        self._publish_timeout = publish_timeout
        self._max_stalled_passes = max_stalled_passes
        self._stalled_passes = 0
        self._failed = False  # whether a lane of the current pass stopped at a failed send
        self._stalled = False  # whether a lane of the current pass ran out of time

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set; sleeps only while there is nothing to publish."""
        logger.info("outbox relay started")
        backoff = min(5.0, self._poll_interval * 20)
        while not stop.is_set():
            try:
                published = await self.publish_pending()
            except Exception:
                # The database or the broker is away: back off, the rows stay pending.
                logger.exception("outbox relay pass failed")
                published = 0
                await sleep_unless(stop, backoff)
            else:
                if self._stalled_passes >= self._max_stalled_passes:
                    raise RelayStalled(
                        f"{self._stalled_passes} passes in a row without the broker "
                        f"acknowledging within {self._publish_timeout:g} s"
                    )
                if self._failed:
                    # Not a hot loop against a broker that refuses: rows keep their order and
                    # the next pass comes a little later.
                    await sleep_unless(stop, backoff)
            await self.refresh_metrics()
            if published == 0:
                await sleep_unless(stop, self._poll_interval)
        logger.info("outbox relay stopped")

    async def refresh_metrics(self, *, force: bool = False) -> None:
        """Measure the backlog for the outbox gauges, at most every ``metrics_refresh_seconds``
        (the parked rows every 12th time); a failure is logged and leaves the gauges as were."""
        now = time.monotonic()
        if not force and now < self._metrics_due:
            return
        self._metrics_due = now + self._metrics_refresh
        try:
            async with self._sessions() as session:
                pending, oldest_age = await pending_backlog(session)
                parked = await parked_count(session) if self._measurements % 12 == 0 else None
        except Exception:
            logger.warning("outbox backlog not measured", exc_info=True)
            return
        self._measurements += 1
        metrics.OUTBOX_BACKLOG.labels(self._service).set(pending)
        metrics.OUTBOX_OLDEST_AGE.labels(self._service).set(oldest_age)
        if parked is not None:
            metrics.OUTBOX_PARKED.labels(self._service).set(parked)

    async def publish_pending(self) -> int:
        """One pass over every lane with pending rows; returns how many rows were published."""
        async with self._sessions() as session:
            lanes: Sequence[int] = (
                await session.scalars(
                    select(OutboxMessage.lane)
                    .where(OutboxMessage.published_at.is_(None), OutboxMessage.parked_at.is_(None))
                    .distinct()
                )
            ).all()
        self._failed = self._stalled = False
        if not lanes:
            self._stalled_passes = 0
            return 0
        # Every lane ends before the pass does, even when one fails: a lane still running
        # would hold its lock and rows into the next pass.
        outcomes = await asyncio.gather(
            *(self._publish_lane(lane) for lane in lanes), return_exceptions=True
        )
        self._stalled_passes = self._stalled_passes + 1 if self._stalled else 0
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return sum(cast(list[int], outcomes))

    async def _publish_lane(self, lane: int) -> int:
        async with self._concurrency, transaction(self._sessions) as session:
            locked = await session.scalar(
                select(func.pg_try_advisory_xact_lock(_LANE_LOCK_NAMESPACE, lane))
            )
            if not locked:
                return 0  # another replica is publishing this lane
            m = _outbox.c
            rows = (
                await session.execute(
                    select(m.id, m.topic, m.message_key, m.headers, m.payload, m.attempts)
                    .where(m.lane == lane, m.published_at.is_(None), m.parked_at.is_(None))
                    .order_by(m.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            # Hand every row to the producer first (it batches per partition), then wait, all
            # within one deadline: a producer left hanging by the broker must not hold the lane.
            deadline = asyncio.get_running_loop().time() + self._publish_timeout
            sent: list[asyncio.Future[object]] = []
            failure: BaseException | None = None
            traced = self._tracing if self._tracing and self._tracing.recording else None
            for row in rows:
                span = (
                    tracing.start_sending(
                        traced.tracer, headers=row.headers, topic=row.topic, key=row.message_key
                    )
                    if traced
                    else None
                )
                try:
                    async with asyncio.timeout_at(deadline):
                        delivery = await self._producer.send(
                            row.topic,
                            value=row.payload,
                            key=row.message_key.encode(),
                            headers=[(name, value.encode()) for name, value in row.headers],
                        )
                except Exception as error:  # e.g. a message too large for the broker
                    if span is not None:
                        tracing.end_sending(span, error)
                    failure = error
                    break
                if span is not None:
                    delivery.add_done_callback(partial(tracing.end_sending, span))
                sent.append(delivery)
            if sent:
                left = max(0.0, deadline - asyncio.get_running_loop().time())
                await asyncio.wait(sent, timeout=left)
                for delivery in sent:
                    if not delivery.done():  # its outcome, when it comes, is of no use
                        delivery.add_done_callback(_ignore_outcome)

            published: list[int] = []
            for row, result in zip(rows, [*map(_outcome, sent), failure], strict=False):
                if isinstance(result, BaseException):
                    # Stop at the first failure: later rows of this lane may share its key and
                    # must not overtake it. They are sent again next pass (consumers dedupe).
                    self._failed = True
                    self._stalled = self._stalled or isinstance(result, TimeoutError)
                    if _broker_away(result):
                        logger.warning(
                            "outbox lane waits for the broker",
                            extra={"outbox_id": row.id, "error": repr(result)},
                        )
                    else:
                        await self._record_failure(session, row.id, row.attempts, result)
                    break
                published.append(row.id)
            if published:
                await self._mark_published(session, published)
                sent_to = Counter(row.topic for row in rows[: len(published)])
                for topic, count in sent_to.items():
                    metrics.OUTBOX_PUBLISHED.labels(self._service, topic).inc(count)
            return len(published)

    async def _mark_published(self, session: AsyncSession, row_ids: list[int]) -> None:
        # If the process dies before this commits, the rows stay pending and are sent again.
        # A Core statement with one array parameter: no ORM session sync, no per-id binds.
        await session.execute(
            update(_outbox)
            .where(_outbox.c.id == any_(literal(row_ids, ARRAY(BigInteger()))))
            .values(published_at=func.now(), attempts=_outbox.c.attempts + 1)
        )

    async def _record_failure(
        self, session: AsyncSession, row_id: int, attempts: int, error: BaseException
    ) -> None:
        attempts += 1
        parked = attempts >= self._max_attempts
        logger.warning(
            "outbox row failed to publish",
            extra={
                "outbox_id": row_id,
                "attempts": attempts,
                "parked": parked,
                "error": repr(error),
            },
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(
                attempts=attempts,
                last_error=repr(error)[:2000],
                parked_at=func.now() if parked else None,
            )
        )
