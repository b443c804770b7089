"""Tracing: one trace from a request, through the outbox and Kafka, to every handler it causes.

:func:`setup_tracing` gives a service its :class:`ServiceTracing` (OpenTelemetry spans for its
HTTP API, its SQL, its outbound HTTP calls and its Kafka hops). The context crosses the outbox
as a W3C ``traceparent``: :func:`current_traceparent` is what :func:`vitrina_kit.outbox.add_event`
stores in the envelope and the row's headers, the relay publishes the headers as they are (with
a PRODUCER ``send`` span under the stored context, so a trace shows how long the row waited),
and the consumer runs each handler in a CONSUMER ``process`` span whose parent is that context.

Cost: spans are *recorded* only while something exports them (an OTLP endpoint is configured,
or a test listens through :func:`exporting_to`). Otherwise every span is a non-recording one:
it still has ids, so ``traceparent`` flows and log lines carry ``trace_id``, but nothing is
collected. ``OTEL_SDK_DISABLED=true`` (or ``tracing_enabled=False``) turns tracing off entirely:
no instrumentation is installed and no span is made.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.semconv._incubating.attributes import cloudevents_attributes as ce
from opentelemetry.semconv._incubating.attributes import messaging_attributes as messaging
from opentelemetry.trace import Link, SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from sqlalchemy.ext.asyncio import AsyncEngine

from vitrina_kit.settings import ServiceSettings

TRACEPARENT = "traceparent"
_W3C = TraceContextTextMapPropagator()
_NO_METRICS = NoOpMeterProvider()
# Probes and scrapes are not worth a trace each.
_UNTRACED_URLS = "/health/,/metrics"


def tracing_enabled(settings: ServiceSettings) -> bool:
    """Whether the service makes spans at all (``OTEL_SDK_DISABLED`` is the standard switch)."""
    disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    return settings.tracing_enabled and not disabled


class _Listeners(SpanProcessor):
    """Span processors added and removed at run time (a test's in-memory exporter), shared by
    every provider of the process: no provider has to be rebuilt for a test to see spans."""

    def __init__(self) -> None:
        self._processors: tuple[SpanProcessor, ...] = ()
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._processors)

    def add(self, processor: SpanProcessor) -> None:
        with self._lock:
            self._processors = (*self._processors, processor)

    def remove(self, processor: SpanProcessor) -> None:
        with self._lock:
            self._processors = tuple(p for p in self._processors if p is not processor)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for processor in self._processors:
            processor.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self._processors:
            processor.on_end(span)

    def shutdown(self) -> None:
        pass  # a listener belongs to whoever added it

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return all(p.force_flush(timeout_millis) for p in self._processors)


_LISTENERS = _Listeners()


@contextmanager
def exporting_to(exporter: SpanExporter) -> Iterator[SpanExporter]:
    """Send every span this process ends to ``exporter`` too, synchronously, for the block.

    For tests (an ``InMemorySpanExporter``): spans are recorded only while something exports
    them, so this also turns recording on for services configured without an endpoint.
    """
    processor = SimpleSpanProcessor(exporter)
    _LISTENERS.add(processor)
    try:
        yield exporter
    finally:
        _LISTENERS.remove(processor)


class _RecordWhenExported(Sampler):
    """Record a span only if something will export it; make its ids either way.

    A dropped span is a non-recording one with a valid context: ``traceparent`` still flows and
    logs still carry the trace id, at the cost of two random numbers. When exporting, the
    upstream's sampling decision is followed for a local parent, and a remote parent that did
    not sample (a service or client exporting nothing) does not stop this service from
    sampling. A query or call made outside any request or handler (the relay's polling,
    housekeeping) would be a trace of one span each: those are dropped.
    """

    def __init__(self, *, otlp: bool, ratio: float) -> None:
        self._otlp = otlp
        root = TraceIdRatioBased(ratio)
        self._sampler = ParentBased(root, remote_parent_not_sampled=root)

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if not (self._otlp or _LISTENERS.active):
            return SamplingResult(Decision.DROP)
        if kind is SpanKind.CLIENT:
            parent = trace.get_current_span(parent_context).get_span_context()
            if not parent.is_valid:
                return SamplingResult(Decision.DROP)
        return self._sampler.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return "RecordWhenExported{ParentBased{TraceIdRatioBased}}"


@dataclass(frozen=True)
class ServiceTracing:
    """A service's tracer provider (``service.name`` is the service's) and what it instruments."""

    service: str
    provider: TracerProvider
    otlp: bool
    tracer: Tracer
    """The tracer of the kit's own spans (the relay's sends, the consumer's processing)."""

    @property
    def recording(self) -> bool:
        """Whether sampled spans go anywhere (spans made only for what they record are
        skipped when not)."""
        return self.otlp or _LISTENERS.active

    def instrument_app(self, app: FastAPI) -> None:
        """A SERVER span per request (health probes and metric scrapes excepted), the parent of
        the request's SQL, outbound calls and the events it writes."""
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            meter_provider=_NO_METRICS,
            excluded_urls=_UNTRACED_URLS,
            exclude_spans=["receive", "send"],  # a span per ASGI message is noise
        )

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """A CLIENT span per SQL statement of ``engine`` (the statement without its values)."""
        meter = _NO_METRICS.get_meter("opentelemetry.instrumentation.sqlalchemy")
        EngineTracer(  # type: ignore[no-untyped-call]
            self.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"),
            engine.sync_engine,
            meter.create_up_down_counter("db.client.connections.usage"),
        )


_lock = threading.Lock()
_services: dict[str, ServiceTracing] = {}


def setup_tracing(
    service: str, settings: ServiceSettings, *, version: str = ""
) -> ServiceTracing | None:
    """The service's tracing, or None where it is switched off.

    Once per service and process: tests build many apps in one process, and each asks again
    (the first settings win). The first service set up in a process provides the global tracer
    provider, which httpx's instrumentation (installed once, for every client) uses.
    """
    if not tracing_enabled(settings):
        return None
    with _lock:
        existing = _services.get(service)
        if existing is not None:
            return existing
        endpoint = _traces_endpoint(settings)
        provider = TracerProvider(
            sampler=_RecordWhenExported(
                otlp=endpoint is not None, ratio=settings.tracing_sample_ratio
            ),
            resource=Resource.create({SERVICE_NAME: service, SERVICE_VERSION: version}),
        )
        provider.add_span_processor(_LISTENERS)
        if endpoint is not None:
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        if not _services:
            trace.set_tracer_provider(provider)
            HTTPXClientInstrumentor().instrument(
                tracer_provider=provider, meter_provider=_NO_METRICS
            )
        tracing = _services[service] = ServiceTracing(
            service, provider, endpoint is not None, provider.get_tracer("vitrina_kit")
        )
        return tracing


def _traces_endpoint(settings: ServiceSettings) -> str | None:
    """Where spans go over OTLP/HTTP, or None: the setting (a base URL, as the standard
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` is), else ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` as is."""
    if settings.otel_exporter_otlp_endpoint:
        return settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    return os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or None


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the span in progress, or None outside any span."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get(TRACEPARENT)


def _context_of(traceparent: str | None) -> Context | None:
    return _W3C.extract({TRACEPARENT: traceparent}) if traceparent else None


def _span_context_of(traceparent: str | None) -> trace.SpanContext | None:
    context = _context_of(traceparent)
    if context is None:
        return None
    linked = trace.get_current_span(context).get_span_context()
    return linked if linked.is_valid else None


def start_sending(
    tracer: Tracer, *, headers: Sequence[Sequence[str]], topic: str, key: str
) -> trace.Span | None:
    """The relay's PRODUCER span of one outbox row, a child of the context the row was
    written in (None for a row written outside any span: a trace of its own would be noise).

    Started when the row is handed to the producer, ended by :func:`end_sending` when the broker
    acknowledges it: its start, well after the writing span's, shows how long the row waited.
    """
    named = {pair[0]: pair[1] for pair in headers}
    parent = _context_of(named.get(TRACEPARENT))
    if parent is None:
        return None
    event_id = named.get("ce_id", "")
    return tracer.start_span(
        f"send {topic}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            messaging.MESSAGING_SYSTEM: "kafka",
            messaging.MESSAGING_OPERATION_TYPE: "send",
            messaging.MESSAGING_OPERATION_NAME: "send",
            messaging.MESSAGING_DESTINATION_NAME: topic,
            messaging.MESSAGING_KAFKA_MESSAGE_KEY: key,
            messaging.MESSAGING_MESSAGE_ID: event_id,
            ce.CLOUDEVENTS_EVENT_ID: event_id,
            ce.CLOUDEVENTS_EVENT_TYPE: named.get("ce_type", ""),
        },
    )


def end_sending(span: trace.Span, outcome: asyncio.Future[object] | BaseException) -> None:
    """End a :func:`start_sending` span with the delivery's outcome (an error, if it failed);
    usable as the producer future's done-callback."""
    error: BaseException | None
    if isinstance(outcome, asyncio.Future):
        error = asyncio.CancelledError() if outcome.cancelled() else outcome.exception()
    else:
        error = outcome
    if error is not None:
        span.record_exception(error)
        span.set_status(StatusCode.ERROR, type(error).__name__)
    span.end()


@contextmanager
def processing(
    tracer: Tracer,
    *,
    headers: Mapping[str, str],
    envelope_traceparent: str | None,
    topic: str,
    partition: int,
    offset: int,
    group: str,
    event_id: str,
    event_type: str,
) -> Iterator[trace.Span]:
    """The consumer's CONSUMER span of one event, a child of the context it was written in.

    The record's ``traceparent`` header is that context; the envelope's copy stands in for a
    record whose headers were lost on the way (a tool that re-publishes bodies only).
    """
    parent = _context_of(headers.get(TRACEPARENT) or envelope_traceparent)
    with tracer.start_as_current_span(
        f"process {topic}",
        context=parent if parent is not None else otel_context.Context(),
        kind=SpanKind.CONSUMER,
        attributes={
            messaging.MESSAGING_SYSTEM: "kafka",
            messaging.MESSAGING_OPERATION_TYPE: "process",
            messaging.MESSAGING_OPERATION_NAME: "process",
            messaging.MESSAGING_DESTINATION_NAME: topic,
            messaging.MESSAGING_DESTINATION_PARTITION_ID: str(partition),
            messaging.MESSAGING_KAFKA_OFFSET: offset,
            messaging.MESSAGING_CONSUMER_GROUP_NAME: group,
            messaging.MESSAGING_MESSAGE_ID: event_id,
            ce.CLOUDEVENTS_EVENT_ID: event_id,
            ce.CLOUDEVENTS_EVENT_TYPE: event_type,
        },
    ) as span:
        yield span


def start_span(
    service: str,
    name: str,
    *,
    traceparent: str | None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Attributes = None,
    links: Sequence[str | None] = (),
) -> trace.Span:
    """A span of ``service``'s own, not yet current, whose parent is ``traceparent`` (a
    :func:`current_traceparent` stored with work queued for later); the root of a new trace
    when that is None. ``links`` are the ``traceparent`` of spans it relates to without being
    caused by them alone (a batch's span, to the run it is part of). The caller ends it.

    Where ``service`` has no tracing (switched off, or never set up in this process), the
    invalid span: nothing is made and no ``traceparent`` flows from it.
    """
    traced = _services.get(service)
    if traced is None:
        return trace.INVALID_SPAN
    parent = _context_of(traceparent)
    return traced.tracer.start_span(
        name,
        context=parent if parent is not None else otel_context.Context(),
        kind=kind,
        attributes=attributes,
        links=[Link(linked) for linked in map(_span_context_of, links) if linked is not None],
    )


@contextmanager
def resumed(span: trace.Span, *, end: bool = False) -> Iterator[trace.Span]:
    """Make a :func:`start_span` span the current one for the block (the SQL, outbound calls
    and events of the block become its children), ending it after if ``end``; an error leaving
    the block is recorded on it."""
    if span is trace.INVALID_SPAN:
        yield span
        return
    with trace.use_span(span, end_on_exit=end, record_exception=True, set_status_on_exception=True):
        yield span


@contextmanager
def continue_trace(
    service: str,
    traceparent: str | None,
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Attributes = None,
    links: Sequence[str | None] = (),
) -> Iterator[trace.Span]:
    """Run the block in a span of ``service`` whose parent is the stored ``traceparent``:
    work a handler queued (a row in a table of the service's own) and a periodic job did later
    joins the trace of the event that caused it. A new trace when ``traceparent`` is None.

    One span per unit of work (a row handled), never per poll: a poll that finds nothing makes
    no span. A no-op where ``service`` has no tracing.
    """
    with resumed(
        start_span(
            service, name, traceparent=traceparent, kind=kind, attributes=attributes, links=links
        ),
        end=True,
    ) as span:
        yield span


@contextmanager
def in_span(
    service: str, name: str, *, kind: SpanKind = SpanKind.INTERNAL, attributes: Attributes = None
) -> Iterator[trace.Span]:
    """Run the block in a span of ``service``, a child of the span in progress (the root of a
    new trace outside any); a no-op where ``service`` has no tracing."""
    traced = _services.get(service)
    if traced is None:
        yield trace.INVALID_SPAN
        return
    with traced.tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
        yield span
