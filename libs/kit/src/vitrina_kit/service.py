"""What a Vitrina service is, and how each of its processes runs.

A service declares itself once as a :class:`Service` (name, settings, routers, event handlers,
migrations, periodic jobs). :func:`build_app` turns that into its FastAPI app; :func:`run_workers`
runs its consumer, outbox relay and jobs; :func:`main` is the command line every service shares::

    python -m catalog migrate | api | consumer | relay | run | topics
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any

import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitrina_contracts.events.base import Event
from vitrina_kit import db, housekeeping, kafka, metrics, tracing
from vitrina_kit.aio import sleep_unless
from vitrina_kit.auth import JwksKeySource, KeySource, TokenVerifier
from vitrina_kit.consumer import ConsumerRunner, Handler, parse_retry_stages
from vitrina_kit.dead_letters import DeadLetterQueueGauge
from vitrina_kit.health import health_router
from vitrina_kit.logging import configure_logging
from vitrina_kit.middleware import (
    BodySizeLimitMiddleware,
    CorrelationIdMiddleware,
    HttpMetricsMiddleware,
)
from vitrina_kit.migrations import upgrade
from vitrina_kit.ops import ops_router
from vitrina_kit.outbox import OutboxRelay
from vitrina_kit.problems import install_problem_handlers, problem_response
from vitrina_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)


KeySourceFactory = Callable[[ServiceSettings, async_sessionmaker[AsyncSession]], KeySource]


@dataclass(frozen=True)
class PeriodicJob:
    """Recurring work of a service's own (applying what came due, say), run by its worker
    process next to the outbox relay and housekeeping, every ``interval_seconds(settings)``.

    ``run`` does one round in transactions it opens itself (small ones: row locks held briefly)
    and must be safe with several replicas running it at once (``FOR UPDATE SKIP LOCKED`` or an
    advisory lock). A round that raises is logged; the next one runs on schedule.
    """

    name: str
    run: Callable[[async_sessionmaker[AsyncSession], ServiceSettings], Awaitable[object]]
    interval_seconds: Callable[[ServiceSettings], float]


async def run_periodically(
    job: PeriodicJob,
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    *,
    stop: asyncio.Event,
) -> None:
    """Run ``job`` every interval until ``stop`` is set; a failing round does not end it."""
    interval = job.interval_seconds(settings)
    while not stop.is_set():
        try:
            with metrics.job_round(settings.service_name, job.name):
                await job.run(sessions, settings)
        except Exception:
            logger.exception("periodic job round failed", extra={"job": job.name})
        await sleep_unless(stop, interval)


@dataclass(frozen=True)
class Service:
    """A service's declaration: everything the shared runtime needs to run it."""

    name: str
    title: str
    description: str
    settings: Callable[[], ServiceSettings]
    routers: Sequence[APIRouter]
    migrations: Path
    metadata: MetaData
    handlers: Mapping[type[Event], Handler] = field(default_factory=dict)
    jobs: Sequence[PeriodicJob] = ()
    """Periodic work of the service's own, run where the relay runs (``relay`` and ``run``)."""
    key_source: KeySourceFactory | None = None
    """Where token signing keys come from; by default identity's JWKS over HTTP (identity
    itself reads its own keys instead)."""
    version: str = "0.1.0"


def build_app(
    service: Service,
    settings: ServiceSettings,
    *,
    with_workers: bool = False,
    key_source: KeySource | None = None,
) -> FastAPI:
    """The service's FastAPI app; ``with_workers`` also runs its consumer and relay in-process.

    ``key_source`` overrides where token signing keys come from (tests sign their own tokens).
    """
    traced = tracing.setup_tracing(service.name, settings, version=service.version)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = db.create_engine(settings.database_url, pool_size=settings.database_pool_size)
        if traced is not None:
            traced.instrument_engine(engine)
        app.state.engine = engine
        app.state.sessions = db.create_session_factory(engine)
        keys = key_source or (
            service.key_source(settings, app.state.sessions)
            if service.key_source
            else JwksKeySource(settings.auth_jwks_url)
        )
        app.state.token_verifier = TokenVerifier(
            keys,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            leeway_seconds=settings.auth_leeway_seconds,
        )
        stop = asyncio.Event()
        workers = None
        if with_workers:
            workers = asyncio.create_task(run_workers(service, settings, stop=stop, engine=engine))
            workers.add_done_callback(partial(_exit_if_workers_died, stop))
        try:
            yield
        finally:
            stop.set()
            if workers is not None:
                with contextlib.suppress(Exception):  # already logged by the callback
                    await workers
            await engine.dispose()

    app = FastAPI(
        title=service.title,
        description=service.description,
        version=service.version,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_exception_handler(RecursionError, _nested_too_deeply)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(CorrelationIdMiddleware)
    if settings.http_metrics_enabled:
        app.add_middleware(HttpMetricsMiddleware, service=settings.service_name)
    app.include_router(health_router)
    app.include_router(ops_router)
    # Not behind auth: scraped from inside the cluster, and it holds no business data.
    app.add_route(metrics.METRICS_PATH, metrics.metrics_endpoint, include_in_schema=False)
    for router in service.routers:
        app.include_router(router)
    if traced is not None:
        traced.instrument_app(app)
    return app


async def _nested_too_deeply(request: Request, error: Exception) -> Response:
    """A client's input nested deeper than a parser's recursion limit (``[[[[...`` in a body a
    route reads itself, in a cursor, in an idempotency fingerprint) is the client's error, not
    a crash. Logged with its traceback: a recursion bug of our own would show up here too."""
    logger.warning("input nested too deeply", exc_info=error, extra={"path": request.url.path})
    return problem_response(
        status=HTTPStatus.BAD_REQUEST,
        code="nested_too_deeply",
        title="The input is nested too deeply",
        detail="Arrays and objects may not be nested this deep.",
        instance=request.url.path,
    )


def _exit_if_workers_died(stop: asyncio.Event, workers: asyncio.Task[None]) -> None:
    """A process whose consumer or relay died must not go on serving as if healthy: it stops
    itself (the server shuts down gracefully on SIGTERM), and its supervisor starts it again."""
    if stop.is_set() or workers.cancelled():
        return
    logger.error("workers stopped unexpectedly; stopping the process", exc_info=workers.exception())
    stop.set()
    os.kill(os.getpid(), signal.SIGTERM)


async def run_workers(
    service: Service,
    settings: ServiceSettings,
    *,
    stop: asyncio.Event,
    engine: AsyncEngine | None = None,
    consumer: bool = True,
    relay: bool = True,
) -> None:
    """Run the service's consumer and/or outbox relay (with its periodic jobs) until ``stop``
    is set."""
    own_engine = engine is None
    traced = tracing.setup_tracing(service.name, settings, version=service.version)
    if engine is None:
        engine = db.create_engine(settings.database_url, pool_size=settings.database_pool_size)
        if traced is not None:
            traced.instrument_engine(engine)
    try:
        await kafka.ensure_topics(
            settings.kafka_bootstrap_servers,
            replication_factor=settings.kafka_replication_factor,
            retry_stages=parse_retry_stages(settings.consumer_retry_stages),
        )
        producer = kafka.create_producer(
            settings.kafka_bootstrap_servers, client_id=f"{settings.service_name}-producer"
        )
        await producer.start()
        try:
            await _run_until_stopped(
                _worker_tasks(
                    service,
                    settings,
                    db.create_session_factory(engine),
                    producer,
                    stop=stop,
                    consumer=consumer,
                    relay=relay,
                ),
                stop,
            )
        finally:
            await producer.stop()
    finally:
        if own_engine:
            await engine.dispose()


def _worker_tasks(
    service: Service,
    settings: ServiceSettings,
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    *,
    stop: asyncio.Event,
    consumer: bool,
    relay: bool,
) -> list[asyncio.Task[None]]:
    tasks = []
    traced = tracing.setup_tracing(service.name, settings, version=service.version)
    if relay:
        outbox_relay = OutboxRelay(
            sessions,
            producer,
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval_seconds,
            max_attempts=settings.outbox_max_attempts,
            publish_timeout=settings.outbox_publish_timeout_seconds,
            service=settings.service_name,
            metrics_refresh_seconds=settings.metrics_refresh_seconds,
            service_tracing=traced,
        )
        retention = housekeeping.Retention(
            published_outbox=timedelta(hours=settings.outbox_retention_hours),
            inbox=timedelta(days=settings.inbox_retention_days),
            idempotency_keys=timedelta(hours=settings.idempotency_key_retention_hours),
        )
        tasks.append(asyncio.create_task(outbox_relay.run(stop), name="outbox-relay"))
        tasks.append(
            asyncio.create_task(
                housekeeping.run(
                    sessions,
                    retention,
                    stop=stop,
                    interval_seconds=settings.housekeeping_interval_seconds,
                ),
                name="housekeeping",
            )
        )
        tasks.extend(
            asyncio.create_task(
                run_periodically(job, sessions, settings, stop=stop), name=f"job:{job.name}"
            )
            for job in service.jobs
        )
    if consumer and service.handlers:
        runner = ConsumerRunner(
            group_id=settings.service_name,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            sessions=sessions,
            handlers=service.handlers,
            producer=producer,
            max_attempts=settings.consumer_max_attempts,
            retry_base_seconds=settings.consumer_retry_base_seconds,
            retry_stages=parse_retry_stages(settings.consumer_retry_stages),
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            session_timeout_ms=settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
            service_tracing=traced,
        )
        tasks.append(asyncio.create_task(runner.run(stop), name="consumer"))
        # The consumer, not the relay, measures its DLQs: it is what feeds them, and it knows
        # the topics it reads (a service without handlers has none to measure).
        dlq_gauge = DeadLetterQueueGauge(
            settings.kafka_bootstrap_servers,
            runner.topics,
            client_id=f"{settings.service_name}-dlq-size",
        )
        tasks.append(
            asyncio.create_task(
                dlq_gauge.run(stop, interval_seconds=settings.dead_letter_queue_refresh_seconds),
                name="dead-letter-queue-gauge",
            )
        )
    return tasks


async def _run_until_stopped(tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    """Wait for ``stop``; if a task ends first, stop the others and raise its error.

    One worker failing takes the process down (its supervisor restarts it) rather than leaving
    a half-working service that looks healthy.
    """
    if not tasks:
        return
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    await stopped
    await asyncio.gather(*tasks)


def main(service: Service, argv: Sequence[str] | None = None) -> None:
    """The command line of a service process."""
    parser = argparse.ArgumentParser(prog=f"python -m {service.name}", description=service.title)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the database migrations")
    commands.add_parser("topics", help="create the registry's Kafka topics that are missing")
    api = commands.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    commands.add_parser("consumer", help="consume the events this service handles")
    commands.add_parser("relay", help="publish the outbox to Kafka; run the periodic jobs")
    run = commands.add_parser("run", help="API, consumer and relay in one process")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    args = parser.parse_args(argv)

    settings = service.settings()
    configure_logging(settings.log_level, settings.log_format, service=service.name)

    if args.command == "migrate":
        upgrade(service.migrations, settings.database_url)
    elif args.command == "topics":
        asyncio.run(
            kafka.ensure_topics(
                settings.kafka_bootstrap_servers,
                replication_factor=settings.kafka_replication_factor,
                retry_stages=parse_retry_stages(settings.consumer_retry_stages),
            )
        )
    elif args.command in ("api", "run"):
        app = build_app(service, settings, with_workers=args.command == "run")
        uvicorn.run(
            app,
            host=args.host or settings.http_host,
            port=args.port or settings.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    else:
        # A worker has no HTTP app: its metrics get a small server of their own.
        with metrics.serve_metrics(settings.http_host, settings.metrics_port):
            asyncio.run(
                _until_signalled(
                    lambda stop: run_workers(
                        service,
                        settings,
                        stop=stop,
                        consumer=args.command == "consumer",
                        relay=args.command == "relay",
                    )
                )
            )


async def _until_signalled(work: Callable[[asyncio.Event], Any]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await work(stop)
