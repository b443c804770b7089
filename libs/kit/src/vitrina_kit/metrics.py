"""Prometheus metrics of the shared mechanisms: HTTP, consumer, outbox relay, periodic jobs.

Every metric is defined once here, in the process's default registry; a service's own metrics
live in a small ``metrics.py`` of its own and register there too. An API serves them all at
``/metrics`` (:func:`metrics_endpoint`); a worker-only process (``consumer``, ``relay``) serves
them on ``metrics_port`` (:func:`serve_metrics`).

Labels are bounded: a service, a route *template*, a registered topic, an event type of the
contracts, an outcome from a fixed list — never an id. The ``service`` label is the service's
name (also its consumer group), since one Prometheus scrapes every service.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal
from wsgiref.simple_server import WSGIServer

from aiokafka import TopicPartition
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

logger = logging.getLogger(__name__)

# The `_created` series of every counter and histogram double what is stored for nothing a
# dashboard here uses.
disable_created_metrics()  # type: ignore[no-untyped-call]

METRICS_PATH = "/metrics"
UNMATCHED_ROUTE = "unmatched"
"""The ``route`` of a request no route matched (404s, probes of random paths): one series."""

# -- HTTP -------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "vitrina_http_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "vitrina_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# -- consumer ---------------------------------------------------------------------------------

CONSUMER_LAG = Gauge(
    "vitrina_consumer_lag_messages",
    "Records of a partition the consumer group has not processed yet: the high watermark of "
    "the last fetch response minus the group's position. Reported by the replica that owns "
    "the partition.",
    ["service", "topic", "partition"],
)
ConsumerOutcome = Literal["handled", "duplicate", "retried", "dead_lettered", "ignored"]
"""What became of a record: applied; already applied (inbox); handed to a delayed-retry stage;
sent to the DLQ; of a type the service does not handle."""
CONSUMER_EVENTS = Counter(
    "vitrina_consumer_events_total",
    "Records consumed, by event type and outcome (handled, duplicate, retried, "
    "dead_lettered, ignored).",
    ["service", "event_type", "outcome"],
)
CONSUMER_HANDLER_DURATION = Histogram(
    "vitrina_consumer_handler_duration_seconds",
    "One attempt to apply an event: its transaction (inbox row, handler, commit).",
    ["service", "event_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
CONSUMER_RETRIES = Counter(
    "vitrina_consumer_retries_total",
    "Retries of failed events: in-process attempts after the first, and hops to a "
    "delayed-retry topic. ``topic`` is the event's original topic.",
    ["service", "topic"],
)
DEAD_LETTERS = Counter(
    "vitrina_dead_letters_total",
    "Records this service's consumer sent to a DLQ; ``topic`` is the original topic (the DLQ "
    "is ``<topic>.dlq``).",
    ["service", "topic"],
)
DEAD_LETTER_QUEUE_MESSAGES = Gauge(
    "vitrina_dead_letter_queue_messages",
    "Records held in a DLQ topic (all groups'), high watermark minus log start; ``topic`` is "
    "the original topic. Replaying does not remove records, so this only grows until retention "
    "deletes them. Measured by the consumer process of each service reading the topic, every "
    "``dead_letter_queue_refresh_seconds``.",
    ["topic"],
)
UNPARSEABLE_EVENT = "unparseable"
"""The ``event_type`` of a record that is not a readable CloudEvent of a known type."""
UNKNOWN_EVENT = "unknown"
"""The ``event_type`` of a readable CloudEvent whose type the contracts do not know."""

# -- outbox -----------------------------------------------------------------------------------

OUTBOX_BACKLOG = Gauge(
    "vitrina_outbox_backlog_messages",
    "Outbox rows committed and not yet published (parked rows not counted).",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "vitrina_outbox_oldest_unpublished_age_seconds",
    "How long the oldest row waiting to be published has waited; 0 when none waits.",
    ["service"],
)
OUTBOX_PARKED = Gauge(
    "vitrina_outbox_parked_messages",
    "Outbox rows parked after too many failed publish attempts.",
    ["service"],
)
OUTBOX_PUBLISHED = Counter(
    "vitrina_outbox_published_total",
    "Outbox rows published to Kafka (a row sent again after a crash counts again).",
    ["service", "topic"],
)

# -- periodic jobs ----------------------------------------------------------------------------

# `job_name`, not `job`: Prometheus gives every scraped series the target's own `job` label.
JobOutcome = Literal["succeeded", "failed"]
JOB_RUNS = Counter(
    "vitrina_job_runs_total",
    "Rounds of a periodic job, by outcome (succeeded, failed).",
    ["service", "job_name", "outcome"],
)
JOB_DURATION = Histogram(
    "vitrina_job_duration_seconds",
    "How long one round of a periodic job took.",
    ["service", "job_name"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0),
)


@contextlib.contextmanager
def job_round(service: str, job_name: str) -> Iterator[None]:
    """Count and time one round of a periodic job; an exception counts as failed and goes on."""
    started = time.perf_counter()
    outcome: JobOutcome = "failed"
    try:
        yield
        outcome = "succeeded"
    finally:
        JOB_DURATION.labels(service, job_name).observe(time.perf_counter() - started)
        JOB_RUNS.labels(service, job_name, outcome).inc()


# -- the consumer's instruments ---------------------------------------------------------------


class ConsumerMetrics:
    """The metrics of one consumer group (``service``), with the partitions it reports lag for.

    Lag is reported only for partitions this replica owns; one it loses in a rebalance has its
    series removed, so the sum over replicas counts each partition once.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._lag_reported: set[TopicPartition] = set()

    def event(self, event_type: str, outcome: ConsumerOutcome) -> None:
        CONSUMER_EVENTS.labels(self.service, event_type, outcome).inc()

    @contextlib.contextmanager
    def handling(self, event_type: str) -> Iterator[None]:
        """Time one attempt to apply an event, failed or not."""
        started = time.perf_counter()
        try:
            yield
        finally:
            CONSUMER_HANDLER_DURATION.labels(self.service, event_type).observe(
                time.perf_counter() - started
            )

    def retried(self, topic: str, times: int = 1) -> None:
        if times > 0:
            CONSUMER_RETRIES.labels(self.service, topic).inc(times)

    def dead_lettered(self, topic: str) -> None:
        DEAD_LETTERS.labels(self.service, topic).inc()

    def lag(self, tp: TopicPartition, highwater: int | None, position: int) -> None:
        """Report ``tp``'s lag: ``highwater`` (None: no fetch answered yet) minus ``position``,
        the offset of the next record to process."""
        if highwater is None:
            return
        CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(
            max(highwater - position, 0)
        )
        self._lag_reported.add(tp)

    def keep_lag_of(self, assigned: set[TopicPartition]) -> None:
        """Drop the lag series of partitions no longer assigned here."""
        for tp in self._lag_reported - assigned:
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self.service, tp.topic, str(tp.partition))
        self._lag_reported &= assigned

    def forget_lag(self) -> None:
        """The consumer stopped: it no longer reports any partition."""
        self.keep_lag_of(set())


# -- serving ----------------------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The template of the route that handled a request (``/orders/{order_id}``), or
    :data:`UNMATCHED_ROUTE`. Read after the app ran: routing writes the route into the scope."""
    # FastAPI keeps the full path of a route included under a prefix here; the route object
    # itself knows only its own router's path.
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(effective, "path_format", None)
    if isinstance(template, str) and template:
        return template
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


async def metrics_endpoint(_: Request) -> Response:
    """``GET /metrics``: every metric of the process, in the Prometheus text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@contextlib.contextmanager
def serve_metrics(host: str, port: int | None) -> Iterator[int | None]:
    """Serve ``/metrics`` on ``host:port`` in a background thread while the block runs (a
    worker process has no HTTP app of its own); yields the bound port, None when ``port`` is
    0 or None (off)."""
    if not port:
        yield None
        return
    server: WSGIServer
    thread: threading.Thread
    server, thread = start_http_server(port, addr=host)
    logger.info("metrics served", extra={"metrics_port": server.server_port})
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
