"""Prometheus metrics of the shared mechanisms: the /metrics endpoint, request metrics by route
template, the consumer's and the relay's metrics moving on the real broker and PostgreSQL,
periodic jobs, and the worker's metrics server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import MetaData, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.catalog import ProductPublished
from vitrina_kit.consumer import Received
from vitrina_kit.db import transaction
from vitrina_kit.local import free_port
from vitrina_kit.metrics import DEAD_LETTER_QUEUE_MESSAGES, serve_metrics
from vitrina_kit.outbox import OutboxMessage, OutboxRelay, add_event
from vitrina_kit.service import PeriodicJob, Service, build_app, run_periodically, run_workers
from vitrina_kit.settings import ServiceSettings
from vitrina_kit.testing import TestIssuer, app_client, send_raw, wait_until

TOPIC = ProductPublished.topic
PUBLISHED = ProductPublished.event_type
ISSUER = TestIssuer()


def sample(name: str, **labels: str) -> float:
    """The current value of one series of the process's registry (0 when it does not exist)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def product_event() -> ProductPublished:
    example = ProductPublished.example()
    return ProductPublished(product=example.product.model_copy(update={"product_id": uuid.uuid4()}))


def envelope_bytes() -> bytes:
    event = product_event()
    return build_envelope(
        event, source="/vitrina/catalog", subject=event.aggregate_id(), aggregate_version=1
    ).to_json_bytes()


# -- HTTP ---------------------------------------------------------------------------------------

router = APIRouter(prefix="/things")


@router.get("/{thing_id}")
async def read_thing(thing_id: int) -> dict[str, int]:
    return {"id": thing_id}


@router.post("/{thing_id}/fail")
async def fail(thing_id: int) -> None:
    raise RuntimeError(f"thing {thing_id} broke")


@pytest.fixture
async def api(engine: AsyncEngine) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    name = unique("metrics-api")
    settings = ServiceSettings(
        service_name=name,
        database_url=engine.url.render_as_string(hide_password=False),
    )
    service = Service(
        name=name,
        title="Metrics test",
        description="",
        settings=lambda: settings,
        routers=[router],
        migrations=Path("unused"),
        metadata=MetaData(),
    )
    async with app_client(build_app(service, settings, key_source=ISSUER.key_source)) as client:
        yield client, name


async def test_requests_are_counted_by_route_template_and_metrics_are_served(
    api: tuple[httpx.AsyncClient, str],
) -> None:
    client, service = api
    for thing in (1, 2, 3):
        assert (await client.get(f"/things/{thing}")).status_code == 200
    assert (await client.get("/things/not-a-number")).status_code == 422
    assert (await client.post("/things/7/fail")).status_code == 500
    assert (await client.get(f"/no/such/{uuid.uuid4()}")).status_code == 404
    assert (await client.delete("/things/1")).status_code == 405

    scrape = await client.get("/metrics")  # no token: scraped from inside the cluster

    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(scrape.text)}
    requests = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in families["vitrina_http_requests"].samples
        if s.labels.get("service") == service and s.name == "vitrina_http_requests_total"
    }
    assert requests == {
        ("GET", "/things/{thing_id}", "200"): 3,
        ("GET", "/things/{thing_id}", "422"): 1,
        ("POST", "/things/{thing_id}/fail", "500"): 1,
        ("GET", "unmatched", "404"): 1,  # one series however many paths are probed
        ("DELETE", "/things/{thing_id}", "405"): 1,
    }  # and not the scrape itself
    count = "vitrina_http_request_duration_seconds_count"
    assert sample(count, service=service, method="GET", route="/things/{thing_id}") == 4
    for name in (
        "vitrina_consumer_lag_messages",
        "vitrina_consumer_events",
        "vitrina_outbox_backlog_messages",
        "vitrina_job_runs",
    ):
        assert name in families  # every kit metric is declared, with or without series yet

    await client.get("/metrics")
    assert sample(count, service=service, method="GET", route="/metrics") == 0


async def test_with_http_metrics_off_requests_are_not_counted_and_the_rest_is_served(
    engine: AsyncEngine,
) -> None:
    name = unique("metrics-off")
    settings = ServiceSettings(
        service_name=name,
        database_url=engine.url.render_as_string(hide_password=False),
        http_metrics_enabled=False,
    )
    service = Service(
        name=name,
        title="Metrics off",
        description="",
        settings=lambda: settings,
        routers=[router],
        migrations=Path("unused"),
        metadata=MetaData(),
    )
    async with app_client(build_app(service, settings, key_source=ISSUER.key_source)) as client:
        assert (await client.get("/things/1")).status_code == 200
        assert (await client.get(f"/no/such/{uuid.uuid4()}")).status_code == 404
        scrape = await client.get("/metrics")

    assert scrape.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(scrape.text)}
    assert "vitrina_consumer_events" in families  # the other metrics are still there
    assert not [
        s
        for family in ("vitrina_http_requests", "vitrina_http_request_duration_seconds")
        for s in families[family].samples
        if s.labels.get("service") == name
    ]


# -- consumer -----------------------------------------------------------------------------------


async def test_consumer_metrics_move_as_events_are_handled_retried_and_dead_lettered(
    kafka_bootstrap: str, run_consumer: Any
) -> None:
    group = unique("metrics-consumer")
    handled: list[str] = []
    failures = {"left": 2}

    async def slow_and_once_flaky(session: AsyncSession, message: Received[Any]) -> None:
        await asyncio.sleep(0.05)  # slow enough for a backlog to be seen
        if len(handled) == 5 and failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("the database blinked")
        handled.append(str(message.envelope.id))

    count = 30
    # One key, one partition: the records are handled one after the other.
    await send_raw(kafka_bootstrap, TOPIC, [envelope_bytes() for _ in range(count)], key=b"k")
    lags: list[float] = []

    async def lag_now() -> float:
        value = sum(
            sample("vitrina_consumer_lag_messages", service=group, topic=TOPIC, partition=str(p))
            for p in range(4)
        )
        lags.append(value)
        return value

    shutdown = run_consumer({ProductPublished: slow_and_once_flaky}, group=group)

    async def backlog_seen() -> bool:
        return await lag_now() > 0

    await wait_until(backlog_seen, timeout=20, interval=0.02, message="a lag above 0")

    async def drained() -> bool:
        return len(handled) == count and await lag_now() == 0

    await wait_until(drained, timeout=20, interval=0.05, message="the lag back to 0")
    assert max(lags) >= count / 2  # seen early, while most of the records waited
    await send_raw(kafka_bootstrap, TOPIC, [b"{poison"], key=b"k")

    async def dead_lettered() -> bool:
        return sample("vitrina_dead_letters_total", service=group, topic=TOPIC) == 1

    await wait_until(dead_lettered, timeout=10, message="the poison counted")
    await shutdown()

    events = "vitrina_consumer_events_total"
    assert sample(events, service=group, event_type=PUBLISHED, outcome="handled") == count
    assert sample(events, service=group, event_type="unparseable", outcome="dead_lettered") == 1
    assert sample("vitrina_consumer_retries_total", service=group, topic=TOPIC) == 2
    duration = "vitrina_consumer_handler_duration_seconds_count"
    assert sample(duration, service=group, event_type=PUBLISHED) == count + 2  # every attempt
    # A stopped consumer reports no partition: its successor in the group does.
    assert (
        REGISTRY.get_sample_value(
            "vitrina_consumer_lag_messages", {"service": group, "topic": TOPIC, "partition": "0"}
        )
        is None
    )


async def test_an_event_that_keeps_failing_is_counted_through_its_retry_stages_to_the_dlq(
    kafka_bootstrap: str, run_consumer: Any
) -> None:
    group = unique("metrics-failing")

    async def broken(session: AsyncSession, message: Received[Any]) -> None:
        raise ConnectionError("never works")

    await send_raw(kafka_bootstrap, TOPIC, [envelope_bytes()], key=b"k")
    shutdown = run_consumer({ProductPublished: broken}, group=group)  # stages 500ms, 1s

    async def dead_lettered() -> bool:
        return sample("vitrina_dead_letters_total", service=group, topic=TOPIC) == 1

    await wait_until(dead_lettered, timeout=20, message="the event in the DLQ")
    await shutdown()

    events = "vitrina_consumer_events_total"
    assert sample(events, service=group, event_type=PUBLISHED, outcome="retried") == 2
    assert sample(events, service=group, event_type=PUBLISHED, outcome="dead_lettered") == 1
    # 3 attempts in each of 3 rounds: 2 in-process retries per round, and 2 stage hops.
    assert sample("vitrina_consumer_retries_total", service=group, topic=TOPIC) == 3 * 2 + 2


async def test_the_consumer_process_reports_how_many_records_its_dlqs_hold(
    kafka_bootstrap: str, engine: AsyncEngine
) -> None:
    name = unique("metrics-dlq")
    settings = ServiceSettings(
        service_name=name,
        database_url=engine.url.render_as_string(hide_password=False),
        kafka_bootstrap_servers=kafka_bootstrap,
        consumer_retry_stages="",  # what fails goes straight to the DLQ
        kafka_fetch_max_wait_ms=50,
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=500,
        dead_letter_queue_refresh_seconds=1,
    )
    handled: list[str] = []

    async def note(session: AsyncSession, message: Received[Any]) -> None:
        handled.append(str(message.envelope.id))

    service = Service(
        name=name,
        title="DLQ gauge",
        description="",
        settings=lambda: settings,
        routers=[],
        migrations=Path("unused"),
        metadata=MetaData(),
        handlers={ProductPublished: note},
    )
    DEAD_LETTER_QUEUE_MESSAGES.labels(TOPIC).set(-1)  # whatever an earlier test left: unmeasured

    def dlq_size() -> float | None:
        return REGISTRY.get_sample_value("vitrina_dead_letter_queue_messages", {"topic": TOPIC})

    stop = asyncio.Event()
    workers = asyncio.create_task(
        run_workers(service, settings, stop=stop, engine=engine, relay=False)
    )
    try:

        async def measured_empty() -> bool:
            return dlq_size() == 0

        await wait_until(measured_empty, timeout=15, message="the empty DLQ measured")
        await send_raw(kafka_bootstrap, TOPIC, [b"{poison", envelope_bytes()], key=b"k")

        async def one_held() -> bool:
            return dlq_size() == 1

        await wait_until(one_held, timeout=15, message="the poison counted in the DLQ")
        assert len(handled) == 1  # the group went on past it, undisturbed
        # Other partitions, and rounds that start where the previous one's watermark was.
        await send_raw(kafka_bootstrap, TOPIC, [b"{poison"], key=b"other")
        await send_raw(kafka_bootstrap, TOPIC, [b"[]"], key=b"third")

        async def three_held() -> bool:
            return dlq_size() == 3

        await wait_until(three_held, timeout=15, message="three records in the DLQ")
        await asyncio.sleep(2.5)  # more rounds: nothing counted twice
        assert dlq_size() == 3
        assert sample("vitrina_dead_letters_total", service=name, topic=TOPIC) == 3
    finally:
        stop.set()
        await asyncio.wait_for(workers, timeout=15)


# -- outbox -------------------------------------------------------------------------------------


async def test_the_relay_reports_its_backlog_and_what_it_published(
    sessions: async_sessionmaker[AsyncSession], producer: Any
) -> None:
    service = unique("metrics-relay")
    async with transaction(sessions) as session:
        for _ in range(5):
            event = product_event()
            await add_event(session, event, subject=event.aggregate_id(), aggregate_version=1)
    async with transaction(sessions) as session:
        parked = await session.scalar(
            update(OutboxMessage)
            .where(OutboxMessage.id == 1)
            .values(parked_at=OutboxMessage.created_at)
            .returning(OutboxMessage.id)
        )
    assert parked == 1
    relay = OutboxRelay(sessions, producer, service=service, metrics_refresh_seconds=0.05)
    await asyncio.sleep(0.2)  # the rows get an age

    await relay.refresh_metrics()
    assert sample("vitrina_outbox_backlog_messages", service=service) == 4
    assert sample("vitrina_outbox_parked_messages", service=service) == 1
    assert sample("vitrina_outbox_oldest_unpublished_age_seconds", service=service) >= 0.2

    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))

    async def drained() -> bool:
        return sample("vitrina_outbox_backlog_messages", service=service) == 0

    await wait_until(drained, timeout=10, message="the backlog gauge at 0")
    stop.set()
    await running
    assert sample("vitrina_outbox_oldest_unpublished_age_seconds", service=service) == 0
    assert sample("vitrina_outbox_published_total", service=service, topic=TOPIC) == 4
    assert sample("vitrina_outbox_parked_messages", service=service) == 1


# -- periodic jobs and the worker's server -----------------------------------------------------


async def test_job_rounds_are_counted_by_outcome_and_timed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service = unique("metrics-jobs")
    settings = ServiceSettings(service_name=service)
    stop = asyncio.Event()
    rounds = 0

    async def one_round(_: async_sessionmaker[AsyncSession], __: ServiceSettings) -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 2:
            raise RuntimeError("a bad round")
        if rounds == 3:
            stop.set()

    job = PeriodicJob(name="tick", run=one_round, interval_seconds=lambda _: 0.01)
    await asyncio.wait_for(run_periodically(job, sessions, settings, stop=stop), timeout=5)

    runs = "vitrina_job_runs_total"
    assert sample(runs, service=service, job_name="tick", outcome="succeeded") == 2
    assert sample(runs, service=service, job_name="tick", outcome="failed") == 1
    assert sample("vitrina_job_duration_seconds_count", service=service, job_name="tick") == 3


async def test_a_worker_serves_its_metrics_on_its_own_port() -> None:
    with serve_metrics("127.0.0.1", free_port()) as port:
        assert port is not None
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert answer.status_code == 200
    assert "# TYPE vitrina_consumer_events_total counter" in answer.text
    with serve_metrics("127.0.0.1", 0) as port:
        assert port is None  # off
