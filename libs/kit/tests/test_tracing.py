"""Tracing through the kit: ids without export, one trace from the span that writes an outbox row,
through the relay and the real broker, to the consumer's handler; trace ids on log lines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_contracts.events.catalog import ProductPublished
from vitrina_kit import context, tracing
from vitrina_kit.consumer import ConsumerRunner, Received
from vitrina_kit.db import transaction
from vitrina_kit.logging import configure_logging
from vitrina_kit.outbox import OutboxRelay, add_event
from vitrina_kit.settings import ServiceSettings
from vitrina_kit.testing import read_topic, wait_until


@pytest.fixture
def traced() -> tracing.ServiceTracing:
    service = tracing.setup_tracing("kit-tests", ServiceSettings(service_name="kit-tests"))
    assert service is not None
    return service


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with tracing.exporting_to(InMemorySpanExporter()) as exporter:
        assert isinstance(exporter, InMemorySpanExporter)
        yield exporter


def product_event() -> ProductPublished:
    example = ProductPublished.example()
    return ProductPublished(
        product=example.product.model_copy(update={"product_id": uuid.uuid4(), "version": 1})
    )


def test_setup_is_once_per_service_and_process(traced: tracing.ServiceTracing) -> None:
    again = tracing.setup_tracing("kit-tests", ServiceSettings(service_name="kit-tests"))
    assert again is traced
    assert traced.provider.resource.attributes["service.name"] == "kit-tests"


def test_switched_off_by_the_setting_or_the_standard_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    off = ServiceSettings(service_name="kit-off", tracing_enabled=False)
    assert tracing.setup_tracing("kit-off", off) is None
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.setup_tracing("kit-off", ServiceSettings(service_name="kit-off")) is None


def test_without_an_exporter_spans_have_ids_but_record_nothing(
    traced: tracing.ServiceTracing,
) -> None:
    with traced.tracer.start_as_current_span("unit of work") as span:
        assert not span.is_recording()
        parent = span.get_span_context()
        assert parent.is_valid
        traceparent = tracing.current_traceparent()
    assert traceparent is not None
    _version, trace_id, span_id, flags = traceparent.split("-")
    assert (trace_id, span_id) == (f"{parent.trace_id:032x}", f"{parent.span_id:016x}")
    assert int(flags, 16) & 1 == 0  # not sampled: downstream records nothing either
    assert tracing.current_traceparent() is None  # outside any span


def test_a_listening_exporter_turns_recording_on(
    traced: tracing.ServiceTracing, spans: InMemorySpanExporter
) -> None:
    with traced.tracer.start_as_current_span("unit of work") as span:
        assert span.is_recording()
        assert tracing.current_traceparent() is not None
    [finished] = spans.get_finished_spans()
    assert finished.name == "unit of work"
    assert finished.resource.attributes["service.name"] == "kit-tests"


def test_a_query_outside_any_unit_of_work_is_not_recorded(
    traced: tracing.ServiceTracing, spans: InMemorySpanExporter
) -> None:
    with traced.tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as polling:
        assert not polling.is_recording()  # the relay's polling would be a trace a minute
    with (
        traced.tracer.start_as_current_span("request", kind=SpanKind.SERVER),
        traced.tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as query,
    ):
        assert query.is_recording()


def test_log_lines_carry_the_trace_of_the_span_in_progress(
    traced: tracing.ServiceTracing, spans: InMemorySpanExporter
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("INFO", "json", service="kit-tests")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        log = logging.getLogger("kit-tests")
        with (
            traced.tracer.start_as_current_span("request") as span,
            context.bound(correlation="corr-1"),
        ):
            context.bind_log_fields(organization_id="org-1")
            log.info("inside")
        log.info("outside")
    finally:
        root.handlers[:], root.level = handlers, level
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    ids = span.get_span_context()
    assert inside["trace_id"] == f"{ids.trace_id:032x}"
    assert inside["span_id"] == f"{ids.span_id:016x}"
    assert (inside["correlation_id"], inside["organization_id"]) == ("corr-1", "org-1")
    # The unit of work's fields ended with it.
    assert not {"trace_id", "correlation_id", "organization_id"} & outside.keys()


async def test_one_trace_from_the_writing_span_through_the_outbox_to_the_handler(
    traced: tracing.ServiceTracing,
    spans: InMemorySpanExporter,
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    event = product_event()
    with traced.tracer.start_as_current_span("POST /products", kind=SpanKind.SERVER) as request:
        async with transaction(sessions) as session:
            envelope = await add_event(
                session, event, subject=str(event.product.product_id), aggregate_version=1
            )
    writer = request.get_span_context()
    flags = f"{writer.trace_flags:02x}"
    expected = f"00-{writer.trace_id:032x}-{writer.span_id:016x}-{flags}"
    assert writer.trace_flags.sampled
    assert envelope.traceparent == expected

    relay = OutboxRelay(sessions, producer, service_tracing=traced)
    assert await relay.publish_pending() == 1
    [record] = await read_topic(kafka_bootstrap, ProductPublished.topic, expected=1)
    assert dict(record.headers)["traceparent"] == expected.encode()

    seen: list[trace.SpanContext] = []

    async def handler(session: AsyncSession, received: Received[Any]) -> None:
        seen.append(trace.get_current_span().get_span_context())

    runner = ConsumerRunner(
        group_id=f"kit-tracing-{uuid.uuid4().hex[:6]}",
        bootstrap_servers=kafka_bootstrap,
        sessions=sessions,
        handlers={ProductPublished: handler},
        producer=producer,
        fetch_max_wait_ms=50,
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
        retry_stages=("500ms", "1s"),  # the stages whose topics the producer fixture made
        service_tracing=traced,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))

    async def handled() -> bool:
        return bool(seen)

    try:
        await wait_until(handled, timeout=30, message="the handler to run")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=20)

    by_name = _by_name(spans.get_finished_spans())
    [send] = by_name[f"send {ProductPublished.topic}"]
    [process] = by_name[f"process {ProductPublished.topic}"]
    for span, kind in ((send, SpanKind.PRODUCER), (process, SpanKind.CONSUMER)):
        assert span.kind is kind
        assert span.context is not None
        assert span.parent is not None
        assert span.context.trace_id == writer.trace_id
        assert span.parent.span_id == writer.span_id  # the span that wrote the row
        assert span.attributes is not None
        assert span.attributes["messaging.message.id"] == str(envelope.id)
        assert span.attributes["messaging.destination.name"] == ProductPublished.topic
    assert send.start_time is not None
    assert process.start_time is not None
    assert send.start_time < process.start_time
    # The handler ran inside the process span: what it writes continues the trace.
    assert [(s.trace_id, s.span_id) for s in seen] == [(writer.trace_id, process.context.span_id)]


def _by_name(finished: tuple[ReadableSpan, ...]) -> dict[str, list[ReadableSpan]]:
    named: dict[str, list[ReadableSpan]] = {}
    for span in finished:
        named.setdefault(span.name, []).append(span)
    return named
