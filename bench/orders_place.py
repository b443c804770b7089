"""Placing orders: ``POST /orders`` of the orders API against a bare FastAPI endpoint that writes
the same rows with asyncpg, in the same run on the same machine.

The measured side is the real API: ``python -m orders api`` in its own process (uvicorn,
FastAPI, SQLAlchemy, JSON logs at INFO, tokens verified against a JWKS served over HTTP by this
process), driven over HTTP on 127.0.0.1 by ``--concurrency`` httpx clients in this process. Each
request is a business's order of one to three lines of ``--products`` published products (two
public plans each, no trial, so every line is one ``pending`` subscription) with a fresh
Idempotency-Key. The service verifies the token, claims the key, reads the plans and the buyer
from its projections, reviews the order and, in one transaction, writes the order, its lines,
one subscription per line, an outbox row for ``order.completed`` and one per
``subscription.created``, the audit row and the key's stored response.

The floor (``floor_app`` below) is what those writes cost at the least: FastAPI under uvicorn in
its own process, started the same way, whose one endpoint parses the JSON body, reads the
caller's organization from the token without verifying it, and inserts the same rows into the
same tables of its own database (migrated from the same migrations) in one transaction with
bare asyncpg: no validation, no reads, no ORM, no logging, outbox payloads prebuilt once. Both
get the same request bodies in the same order, and at the end both databases must hold the
same number of rows in every table written, or the run fails.

The ratio (measured req/s over floor req/s, as the other benchmarks) says what everything above
the inserts costs; both sides' p50/p99 are reported, and every figure is the median of
``--rounds`` interleaved rounds. Both servers share the machine with the clients, so on few
cores they also pay for httpx.

The same run also measures what observability costs (``orders_place.instrumentation``): the
same API started again, each on a database of its own, with its instrumentation in four states
(:data:`VARIANTS`): as deployed without a collector (tracing on, spans made but not recorded;
request metrics on), tracing recording and exporting every span over OTLP/HTTP to a sink in
this process, tracing off (``OTEL_SDK_DISABLED=true``), and tracing off with the HTTP metrics
middleware not installed either (``ORDERS_HTTP_METRICS_ENABLED=false``). The ratio there is
"exporting" over "all off"; every state's figures are reported. ``--no-instrumentation`` skips
it.

Run alone with ``python bench/orders_place.py``, or with the others through ``bench/run.py``.
PostgreSQL is embedded unless ``VITRINA_BENCH_POSTGRES_URL`` (or ``--postgres-url``) names a
server, where the benchmark creates two databases of its own and drops them afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from catalog_browse import Figures, drive, median_figures
from fastapi import FastAPI, Request, Response
from sqlalchemy.engine import make_url

from orders.catalog.projection import apply_product
from orders.main import SERVICE
from orders.organizations.projection import apply_organization
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.catalog import PlanSnapshot, ProductPublished, ProductSnapshot
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_contracts.events.orders import OrderCompleted, SubscriptionCreated
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.local import EmbeddedPostgres, create_database, drop_database, free_port
from vitrina_kit.migrations import upgrade
from vitrina_kit.outbox import CLOUDEVENTS_CONTENT_TYPE, LANES
from vitrina_kit.testing import ServiceProcess, TestIssuer

BENCH = Path(__file__).parent
FLOOR_CONFIG_ENV = "ORDERS_PLACE_FLOOR_CONFIG"
BODIES = 512
"""Distinct order bodies, cycled: enough that no plan or buyer is hot, few enough to prebuild."""
WRITTEN = (
    "orders",
    "order_lines",
    "subscriptions",
    "outbox_messages",
    "idempotency_keys",
    "audit_log",
)
BUYERS = 16
"""Businesses placing the orders, request by request in turn (each has its own key scope)."""
MAX_LINES = 3
"""Lines of an order at most: one to three, as a business orders a few services at once."""
CONCURRENCY = 32
"""Clients at once, each waiting for its answer before the next request (the issue's figure)."""


@dataclass(frozen=True)
class Variant:
    """One way of running the API: its name in the results and what it is started with."""

    name: str
    label: str
    env: dict[str, str] = field(default_factory=dict)
    exporting: bool = False

    @property
    def http_metrics(self) -> bool:
        return self.env.get("ORDERS_HTTP_METRICS_ENABLED") != "false"


DEPLOYED = Variant("deployed", "POST /orders (1-3 lines, fresh Idempotency-Key)")
"""The API as it runs with no collector configured: tracing on (spans carry ids, nothing is
recorded), request metrics on. The one compared with the bare floor."""
VARIANTS = (
    DEPLOYED,
    Variant(
        "exporting",
        "POST /orders, tracing on and every span exported over OTLP/HTTP, metrics on",
        exporting=True,
    ),
    Variant(
        "tracing_off",
        "POST /orders, OTEL_SDK_DISABLED=true, metrics on",
        env={"OTEL_SDK_DISABLED": "true"},
    ),
    Variant(
        "all_off",
        "POST /orders, OTEL_SDK_DISABLED=true, HTTP metrics off",
        env={"OTEL_SDK_DISABLED": "true", "ORDERS_HTTP_METRICS_ENABLED": "false"},
    ),
)


@dataclass(frozen=True)
class Plan:
    """What an order line copies from the catalog: the floor keeps it in memory."""

    plan_id: str
    product_id: str
    partner_id: str
    product_name: str
    plan_name: str
    billing_period: str
    unit_price: str


@dataclass(frozen=True)
class Load:
    """The requests both sides get, in the same order: bodies and the buyers' tokens."""

    bodies: list[bytes]
    tokens: list[str]

    def requests(self) -> Iterator[tuple[bytes, dict[str, str]]]:
        for index in itertools.count():
            yield (
                self.bodies[index % len(self.bodies)],
                {
                    "Authorization": f"Bearer {self.tokens[index % len(self.tokens)]}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": str(uuid.uuid4()),
                },
            )


# -- the data set ---------------------------------------------------------------------------


def catalog(products: int, *, seed: int = 11) -> list[ProductSnapshot]:
    """``products`` published products, two public plans each, none with a trial (a trial
    would add ``subscription.activated`` to the outbox, which the floor does not write)."""
    rng = random.Random(seed)
    example = ProductPublished.example().product
    out = []
    for index in range(products):
        plans = tuple(
            PlanSnapshot(
                plan_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                code=f"plan-{index:03d}-{position}",
                name=name,
                billing_period=period,
                pricing_unit="seat",
                unit_price=Decimal(rng.randrange(200, 5_000)),
                vat_mode="standard",
                min_quantity=1,
                max_quantity=100,
                trial_days=0,
                public=True,
            )
            for position, (name, period) in enumerate((("Стандарт", "month"), ("Бизнес", "year")))
        )
        out.append(
            example.model_copy(
                update={
                    "product_id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "partner_id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "slug": f"{example.slug}-{index:03d}",
                    "name": f"{example.name} №{index + 1}",
                    "status": "published",
                    "version": 1,
                    "plans": plans,
                }
            )
        )
    return out


def plans_of(products: list[ProductSnapshot]) -> list[Plan]:
    return [
        Plan(
            plan_id=str(plan.plan_id),
            product_id=str(product.product_id),
            partner_id=str(product.partner_id),
            product_name=product.name,
            plan_name=plan.name,
            billing_period=str(plan.billing_period),
            unit_price=f"{plan.unit_price:.2f}",
        )
        for product in products
        for plan in product.plans
    ]


def order_bodies(plans: list[Plan], *, count: int = BODIES, seed: int = 13) -> list[bytes]:
    """Orders of one to ``MAX_LINES`` distinct plans, a few seats each."""
    rng = random.Random(seed)
    return [
        json.dumps(
            {
                "lines": [
                    {"plan_id": plan.plan_id, "quantity": rng.randint(1, 20)}
                    for plan in rng.sample(plans, rng.randint(1, MAX_LINES))
                ]
            }
        ).encode()
        for _ in range(count)
    ]


async def seed(database_url: str, products: list[ProductSnapshot], buyers: list[uuid.UUID]) -> None:
    """What identity and the catalog would have told orders, through its projections."""
    engine = db.create_engine(database_url, pool_size=1)
    try:
        example = OrganizationUpdated.example().organization
        async with db.transaction(db.create_session_factory(engine)) as session:
            for buyer in buyers:
                organization = example.model_copy(update={"organization_id": buyer})
                await apply_organization(session, organization, version=1)
            for product in products:
                await apply_product(session, product)
    finally:
        await engine.dispose()


def prebuilt_events() -> dict[str, dict[str, str]]:
    """The floor's outbox payloads: the contracts' examples, enveloped as the outbox does;
    ``order-<n>`` for an order of n lines, so payloads are as long as the API's."""
    order = OrderCompleted.example().order
    orders = {
        f"order-{count}": OrderCompleted(
            order=order.model_copy(
                update={
                    "lines": tuple(
                        order.lines[0].model_copy(update={"line_no": no})
                        for no in range(1, count + 1)
                    )
                }
            )
        )
        for count in range(1, MAX_LINES + 1)
    }
    out = {}
    for name, event in (*orders.items(), ("subscription", SubscriptionCreated.example())):
        envelope = build_envelope(
            event,
            source="/vitrina/orders",
            subject=str(uuid.uuid4()),
            aggregate_version=1,
            tenant_id=str(uuid.uuid4()),
            correlation_id=str(uuid.uuid4()),
        )
        out[name] = {
            "type": envelope.type,
            "topic": event.topic,
            "payload": envelope.to_json_bytes().decode(),
        }
    return out


# -- the floor: a bare FastAPI endpoint doing the same inserts ------------------------------

INSERT_ORDER = (
    "INSERT INTO orders (order_id, customer_id, status, purchase_order_ref, placed_at)"
    " VALUES ($1, $2, $3, $4, $5)"
)
INSERT_LINE = (
    "INSERT INTO order_lines (order_id, line_no, product_id, plan_id, product_name, plan_name,"
    " billing_period, quantity, unit_price, subscription_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
INSERT_SUBSCRIPTION = (
    "INSERT INTO subscriptions (subscription_id, customer_id, partner_id, product_id, plan_id,"
    " order_id, billing_period, quantity, started_on, period_anchor, status, status_since,"
    " version, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 'pending', $10, 1, $10)"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox_messages (event_id, event_type, topic, message_key, lane, headers,"
    " payload) VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
INSERT_IDEMPOTENCY = (
    "INSERT INTO idempotency_keys (scope, key, method, path, request_fingerprint,"
    " response_status, response_body, response_headers)"
    " VALUES ($1, $2, 'POST', '/orders', $3, 201, $4, $5)"
)
INSERT_AUDIT = (
    "INSERT INTO audit_log (client_id, organization_id, organization_kind, action, target,"
    " source_address, correlation_id) VALUES ($1, $2, $3, 'POST /orders', $4, $5, $6)"
)


def unverified_claims(authorization: str) -> dict[str, Any]:
    """The token's claims, read and not checked: the floor verifies nothing."""
    payload = authorization.removeprefix("Bearer ").split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def outbox_row(event: dict[str, str], key: str) -> tuple[Any, ...]:
    event_id = str(uuid.uuid4())
    headers = [
        ["content-type", CLOUDEVENTS_CONTENT_TYPE],
        ["ce_id", event_id],
        ["ce_type", event["type"]],
    ]
    return (
        event_id,
        event["type"],
        event["topic"],
        key,
        zlib.crc32(key.encode()) % LANES,
        json.dumps(headers),
        event["payload"].encode(),
    )


def floor_app() -> FastAPI:
    """The floor, for ``uvicorn --factory``; its database and plans come from the JSON file
    named by ``ORDERS_PLACE_FLOOR_CONFIG``."""
    config = json.loads(Path(os.environ[FLOOR_CONFIG_ENV]).read_text())
    plans = {plan["plan_id"]: Plan(**plan) for plan in config["plans"]}
    events: dict[str, dict[str, str]] = config["events"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        size = config["pool_size"]
        async with asyncpg.create_pool(config["dsn"], min_size=size, max_size=size) as pool:
            app.state.pool = pool
            yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/orders", status_code=201)
    async def place_order(request: Request) -> Response:
        body = await request.body()
        lines = json.loads(body)["lines"]
        claims = unverified_claims(request.headers["authorization"])
        customer_id = uuid.UUID(claims["org_id"])
        order_id = uuid.uuid4()
        now = datetime.now(UTC)
        today = now.date()
        line_rows, subscription_rows, outbox_rows, answer_lines = [], [], [], []
        for line_no, line in enumerate(lines, start=1):
            plan = plans[line["plan_id"]]
            subscription_id = uuid.uuid4()
            product_id, plan_id = uuid.UUID(plan.product_id), uuid.UUID(plan.plan_id)
            quantity = int(line["quantity"])
            line_rows.append(
                (
                    order_id,
                    line_no,
                    product_id,
                    plan_id,
                    plan.product_name,
                    plan.plan_name,
                    plan.billing_period,
                    quantity,
                    Decimal(plan.unit_price),
                    subscription_id,
                )
            )
            subscription_rows.append(
                (
                    subscription_id,
                    customer_id,
                    uuid.UUID(plan.partner_id),
                    product_id,
                    plan_id,
                    order_id,
                    plan.billing_period,
                    quantity,
                    today,
                    now,
                )
            )
            outbox_rows.append(outbox_row(events["subscription"], str(subscription_id)))
            answer_lines.append(
                {
                    "line_no": line_no,
                    "product_id": plan.product_id,
                    "plan_id": plan.plan_id,
                    "product_name": plan.product_name,
                    "plan_name": plan.plan_name,
                    "billing_period": plan.billing_period,
                    "quantity": quantity,
                    "unit_price": plan.unit_price,
                    "subscription_id": str(subscription_id),
                }
            )
        outbox_rows.append(outbox_row(events[f"order-{len(lines)}"], str(order_id)))
        location = f"/orders/{order_id}"
        answer = json.dumps(
            {
                "order_id": str(order_id),
                "customer_id": str(customer_id),
                "status": "completed",
                "purchase_order_ref": None,
                "placed_at": now.isoformat(),
                "lines": answer_lines,
            }
        )
        pool: asyncpg.Pool = request.app.state.pool
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(INSERT_ORDER, order_id, customer_id, "completed", None, now)
            await connection.executemany(INSERT_LINE, line_rows)
            await connection.executemany(INSERT_SUBSCRIPTION, subscription_rows)
            await connection.executemany(INSERT_OUTBOX, outbox_rows)
            await connection.execute(
                INSERT_IDEMPOTENCY,
                str(customer_id),
                request.headers["idempotency-key"],
                hashlib.sha256(body).hexdigest(),
                answer,
                json.dumps({"Location": location}),
            )
            await connection.execute(
                INSERT_AUDIT,
                claims["client_id"],
                customer_id,
                claims["org_kind"],
                json.dumps({"created": location}),
                request.client.host if request.client else None,
                request.headers.get("x-correlation-id") or str(uuid.uuid4()),
            )
        return Response(
            answer, status_code=201, media_type="application/json", headers={"Location": location}
        )

    return app


# -- the two servers ------------------------------------------------------------------------


def start_api(
    database_url: str,
    jwks_url: str,
    home: Path,
    variant: Variant = DEPLOYED,
    *,
    otlp_endpoint: str | None = None,
) -> tuple[ServiceProcess, str]:
    """``python -m orders api`` on a free loopback port, with its production defaults
    (changed only as ``variant`` says)."""
    port = free_port()
    env = {
        "ORDERS_HTTP_HOST": "127.0.0.1",
        "ORDERS_HTTP_PORT": str(port),
        "ORDERS_LOG_LEVEL": "INFO",
        "VITRINA_AUTH_JWKS_URL": jwks_url,
        **variant.env,
    }
    if variant.exporting:
        assert otlp_endpoint is not None
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    process = ServiceProcess(
        "orders",
        "api",
        database_url=database_url,
        bootstrap_servers="127.0.0.1:9",  # the API only writes the outbox; no relay here
        log_path=home / f"orders-api-{variant.name}.log",
        env=env,
    ).start()
    return process, f"http://127.0.0.1:{port}"


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that accepts every export and keeps nothing but a count."""

    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def otlp_sink() -> Iterator[tuple[str, type[_Sink]]]:
    """A collector's base URL on loopback (exports go to ``<url>/v1/traces``) and its handler
    class, whose ``received`` counts the exports."""
    handler = type("Sink", (_Sink,), {"received": 0})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def floor_process(
    config: dict[str, Any], home: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The floor app under uvicorn on a free loopback port, as uvicorn's command line runs it
    (same event loop and HTTP parser as the API's ``uvicorn.run``, no access log either)."""
    path = home / "floor.json"
    path.write_text(json.dumps(config))
    port = free_port()
    with open(home / "floor.log", "ab") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "orders_place:floor_app", "--factory"),
                *("--app-dir", str(BENCH), "--host", "127.0.0.1", "--port", str(port)),
                *("--no-access-log", "--log-level", "warning"),
            ],
            env={**os.environ, FLOOR_CONFIG_ENV: str(path)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_serving(
    name: str,
    running: Callable[[], bool],
    http: httpx.AsyncClient,
    path: str,
    logs: Callable[[], str],
    timeout: float = 60,
) -> None:
    """Until ``path`` answers at all (any status): the server is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running():
        with contextlib.suppress(httpx.TransportError):
            await http.get(path)
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the {name} did not start:\n{logs()}")


def tail(path: Path, characters: int = 5_000) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else ""


async def row_counts(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        return {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}") for table in WRITTEN
        }
    finally:
        await connection.close()


# -- measuring ------------------------------------------------------------------------------


async def compare(
    load: Load, sides: dict[str, httpx.AsyncClient], *, requests: int, concurrency: int, rounds: int
) -> dict[str, list[Figures]]:
    """Every side's figures, round by round, each round from the first body."""

    async def run(http: httpx.AsyncClient, count: int) -> Figures:
        pending = load.requests()

        async def call() -> None:
            body, headers = next(pending)
            response = await http.post("/orders", content=body, headers=headers)
            if response.status_code != 201:
                raise RuntimeError(f"{http.base_url}: {response.status_code} {response.text}")

        return await drive(call, count, concurrency)

    # Warm every side alike: connections, statement caches, the JWKS, imports done lazily.
    warm_up = min(requests, 10 * concurrency)
    for http in sides.values():
        await run(http, warm_up)
    figures: dict[str, list[Figures]] = {name: [] for name in sides}
    for _ in range(rounds):  # interleaved, so drift in the machine hits every side alike
        for name, http in sides.items():
            figures[name].append(await run(http, requests))
    return figures


async def measure(
    urls: dict[str, str],
    *,
    variants: tuple[Variant, ...],
    products: int,
    requests: int,
    concurrency: int,
    rounds: int,
    home: Path,
) -> list[dict[str, object]]:
    """``urls``: a database per side, the floor's under ``"floor"``, each variant's under its
    name."""
    for url in urls.values():
        upgrade(SERVICE.migrations, url)
    issuer = TestIssuer()
    shelf = catalog(products)
    plans = plans_of(shelf)
    rng = random.Random(17)
    buyers = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(BUYERS)]
    tokens = [
        issuer.token(organization_id=buyer, kind=OrganizationKind.BUSINESS, lifetime_seconds=3600)
        for buyer in buyers
    ]
    load = Load(order_bodies(plans), tokens)
    floor_config = {
        "dsn": plain_dsn(urls["floor"]),
        # One connection per client: none waits for one. The API's pool (10 + 10 overflow) may
        # make some wait at 32 clients; that is part of what is measured.
        "pool_size": concurrency,
        "plans": [asdict(plan) for plan in plans],
        "events": prebuilt_events(),
    }
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    apis: dict[str, tuple[ServiceProcess, str]] = {}
    with (
        issuer.serving_jwks() as jwks_url,
        otlp_sink() as (collector, sink),
        floor_process(floor_config, home) as (floor, base),
    ):
        stack = contextlib.AsyncExitStack()
        try:
            # All start while the projections fill: importing the app takes seconds of its own.
            for variant in variants:
                apis[variant.name] = start_api(
                    urls[variant.name], jwks_url, home, variant, otlp_endpoint=collector
                )
            for variant in variants:
                await seed(urls[variant.name], shelf, buyers)
            sides = {
                "floor": await stack.enter_async_context(
                    httpx.AsyncClient(base_url=base, limits=limits, timeout=60)
                )
            }
            await wait_serving(
                "floor",
                lambda: floor.poll() is None,
                sides["floor"],
                "/",
                lambda: tail(home / "floor.log"),
            )
            for name, (api, api_base) in apis.items():
                http = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=api_base, limits=limits, timeout=60)
                )
                # /health/ready would want the broker too; that the process serves is enough.
                await wait_serving(
                    f"orders API ({name})",
                    lambda api=api: api.running,  # type: ignore[misc]
                    http,
                    "/health/live",
                    lambda api=api: api.logs(tail=5_000),  # type: ignore[misc]
                )
                sides[name] = http
            figures = await compare(
                load, sides, requests=requests, concurrency=concurrency, rounds=rounds
            )
            if any(variant.exporting for variant in variants):
                # The batch span processor exports every 5 s: wait for one export here rather
                # than count on the flush at exit, which a slow shutdown may not reach.
                for _ in range(100):  # up to 20 s
                    if sink.received:
                        break
                    await asyncio.sleep(0.2)
            for variant in variants:  # each ran as it says: request metrics only where on
                scraped = (await sides[variant.name].get("/metrics")).text
                counted = 'route="/orders"' in scraped
                assert counted == variant.http_metrics, f"{variant.name}: metrics {counted}"
        finally:
            await stack.aclose()
            for api, _ in apis.values():
                api.stop()
        exports = sink.received
    floor_written = await row_counts(plain_dsn(urls["floor"]))
    for variant in variants:
        written = await row_counts(plain_dsn(urls[variant.name]))
        assert written == floor_written, (
            f"not the same rows: API ({variant.name}) {written}, floor {floor_written}"
        )
    medians = {name: median_figures(each) for name, each in figures.items()}
    shape = {
        "products": products,
        "requests": requests,
        "concurrency": concurrency,
        "rounds": rounds,
    }
    labels = {variant.name: variant.label for variant in variants}
    results: list[dict[str, object]] = [
        {
            "benchmark": "orders_place",
            **shape,
            "rows_per_order": round(sum(floor_written.values()) / floor_written["orders"], 2),
            "floor": {
                "name": "bare FastAPI + asyncpg, the same inserts in one transaction",
                **medians["floor"],
            },
            "measured": {"name": DEPLOYED.label, **medians[DEPLOYED.name]},
            "ratio": _ratio(medians[DEPLOYED.name], medians["floor"]),
        }
    ]
    if len(variants) > 1:
        results.append(
            {
                "benchmark": "orders_place.instrumentation",
                **shape,
                "otlp_exports": exports,
                "floor": {"name": labels["all_off"], **medians["all_off"]},
                "measured": {"name": labels["exporting"], **medians["exporting"]},
                "ratio": _ratio(medians["exporting"], medians["all_off"]),
                "variants": {
                    variant.name: {
                        "name": variant.label,
                        **medians[variant.name],
                        "vs_all_off": _ratio(medians[variant.name], medians["all_off"]),
                    }
                    for variant in variants
                },
            }
        )
    return results


def _ratio(measured: dict[str, float], floor: dict[str, float]) -> float:
    return round(measured["requests_per_s"] / floor["requests_per_s"], 3)


def plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


async def main(
    *,
    requests: int,
    concurrency: int = CONCURRENCY,
    rounds: int = 3,
    products: int = 50,
    instrumentation: bool = True,
    postgres_url: str | None = None,
) -> list[dict[str, object]]:
    """``orders_place`` in ``bench/run.py``'s shape plus latency figures, and with
    ``instrumentation`` ``orders_place.instrumentation`` too."""
    home = Path(tempfile.mkdtemp(prefix="vitrina-bench-"))
    postgres = None
    if postgres_url is None:
        postgres = EmbeddedPostgres(home / "pg", keep_data=False).start()
        postgres_url = postgres.url("postgres")
    suffix = uuid.uuid4().hex[:8]
    variants = VARIANTS if instrumentation else (DEPLOYED,)
    urls = {
        name: make_url(postgres_url)
        .set(database=f"bench_orders_{name}_{suffix}")
        .render_as_string(hide_password=False)
        for name in ("floor", *(variant.name for variant in variants))
    }
    try:
        for url in urls.values():
            create_database(url)
        return await measure(
            urls,
            variants=variants,
            products=products,
            requests=requests,
            concurrency=concurrency,
            rounds=rounds,
            home=home,
        )
    finally:
        for url in urls.values():
            with contextlib.suppress(Exception):
                drop_database(url)
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2_000, help="per side and round")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument(
        "--no-instrumentation",
        dest="instrumentation",
        action="store_false",
        help="skip the API's runs with its instrumentation switched off and on",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("VITRINA_BENCH_POSTGRES_URL"),
        help="a PostgreSQL server to use instead of an embedded one",
    )
    args = parser.parse_args()
    result = asyncio.run(
        main(
            requests=args.requests,
            concurrency=args.concurrency,
            rounds=args.rounds,
            products=args.products,
            instrumentation=args.instrumentation,
            postgres_url=args.postgres_url,
        )
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))
