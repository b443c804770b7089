"""Storefront latency: the catalog's public listing, search and product pages, against the same
SQL replayed with bare asyncpg on the same database.

The data set is the demo catalog (``vitrina_cli.demo_catalog``) scaled up to ``--products``
published products: each demo product again and again under another edition and city, with
some of its plans, jittered prices and now and then a scheduled price change, written with COPY
exactly as the moderation workflow leaves a published product (approved revision 1, version 1,
``published_at``), then ANALYZEd.

The measured side is the real API: ``python -m catalog api`` in its own process (uvicorn,
FastAPI, SQLAlchemy, a transaction per request, JSON logs), driven over HTTP on 127.0.0.1 by
``--concurrency`` httpx clients in this process. The floor runs the statements the service ran
for the same request, captured once from the app with SQLAlchemy's ``before_cursor_execute``,
on an asyncpg pool of the same size: no HTTP, no ORM, no transaction around them (a read needs
none), rows fetched and decoded but not serialized. The ratio (measured req/s over floor req/s,
as the other benchmarks) says what everything above the database costs; both sides' p50/p99
are reported, and every figure is the median of ``--rounds`` interleaved rounds. Both sides
share the machine with the client, so on few cores the measured side also pays for httpx.

Run alone with ``python bench/catalog_browse.py`` (``--explain`` prints each captured
statement's plan), or with the others through ``bench/run.py``. PostgreSQL is embedded unless
``VITRINA_BENCH_POSTGRES_URL`` (or ``--postgres-url``) names a server, where the benchmark creates
a database of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event
from sqlalchemy.engine import make_url

from catalog.main import SERVICE
from catalog.products.service import EDITABLE
from catalog.settings import CatalogSettings
from vitrina_cli import demo_catalog
from vitrina_kit.local import EmbeddedPostgres, create_database, drop_database, free_port
from vitrina_kit.migrations import upgrade
from vitrina_kit.service import build_app
from vitrina_kit.testing import ServiceProcess, app_client

KOPECK = Decimal("0.01")
RUBLE = Decimal("1")

# Every demo product comes back as many offers: an edition in a city, sold by one of many
# partners, described with a few of these sentences (some mention the cloud, as real ones do).
EDITIONS = ("Старт", "Лайт", "Стандарт", "Бизнес", "Профи", "Плюс", "Оптима", "Премиум")
CITIES = (
    "Москва",
    "Санкт-Петербург",
    "Новосибирск",
    "Екатеринбург",
    "Казань",
    "Нижний Новгород",
    "Краснодар",
    "Самара",
    "Ростов-на-Дону",
    "Владивосток",
)
SENTENCES = (
    "Поддержка 24/7 и персональный менеджер для каждого клиента.",
    "Интеграция с 1С, Битрикс24 и amoCRM без доработок.",
    "Данные хранятся в дата-центрах на территории России.",
    "Подключение за один рабочий день, без выезда специалиста.",
    "Открытый API и вебхуки для ваших систем.",
    "Резервные копии хранятся в облаке оператора.",
    "Скидка при оплате сразу за год.",
    "Перенесём ваши данные с другой платформы бесплатно.",
    "Работает из браузера и мобильного приложения.",
    "Закрывающие документы приходят по ЭДО каждый месяц.",
    "Масштабируйте ресурсы в облаке за несколько минут.",
    "Отчёты об использовании и расходах в личном кабинете.",
)
PARTNERS = 300
"""Sellers the offers are spread over: a marketplace has many, not the demo's five."""


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Statement:
    """One statement as SQLAlchemy handed it to asyncpg: ``$n`` placeholders, bound values."""

    sql: str
    parameters: tuple[Any, ...]


Capture = Callable[[Scenario], Awaitable[tuple[list[Statement], dict[str, Any]]]]
"""Runs a scenario's request once in the app; the statements it executed and the answer."""


@dataclass(frozen=True)
class Figures:
    requests_per_s: float
    p50_ms: float
    p99_ms: float


# -- the data set ---------------------------------------------------------------------------


@dataclass
class Rows:
    products: list[tuple[Any, ...]] = field(default_factory=list)
    revisions: list[tuple[Any, ...]] = field(default_factory=list)
    plans: list[tuple[Any, ...]] = field(default_factory=list)


PRODUCT_COLUMNS = (
    "id",
    "partner_id",
    "slug",
    "name",
    "short_description",
    "description",
    "category",
    "tags",
    "media",
    "documentation_url",
    "support",
    "status",
    "version",
    "published_at",
    "created_at",
    "updated_at",
)
REVISION_COLUMNS = (
    "id",
    "product_id",
    "number",
    "status",
    "content",
    "created_at",
    "submitted_at",
    "decided_at",
    "decided_by",
)
PLAN_COLUMNS = (
    "id",
    "product_id",
    "position",
    "code",
    "name",
    "billing_period",
    "pricing_unit",
    "unit_price",
    "vat_mode",
    "min_quantity",
    "max_quantity",
    "trial_days",
    "public",
    "next_unit_price",
    "next_price_effective_on",
)


def demo_products() -> list[dict[str, Any]]:
    """The demo seed's product bodies (catalog's ``POST /products``), operator's and partners'."""
    return [
        *demo_catalog.OPERATOR_PRODUCTS,
        *(body for partner in demo_catalog.PARTNERS for body in partner.products),
    ]


def jittered(price: Decimal, rng: random.Random) -> Decimal:
    """Within 30% of ``price``, in whole rubles as price lists are, kopecks for small prices."""
    moved = price * Decimal(str(round(rng.uniform(0.7, 1.3), 3)))
    return moved.quantize(RUBLE if price >= 100 else KOPECK)


def offers(count: int, *, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``count`` product bodies: the demo's, varied; deterministic for a ``seed``."""
    rng = random.Random(seed)
    bases = demo_products()
    for index in range(count):
        base = bases[index % len(bases)]
        edition, city = rng.choice(EDITIONS), rng.choice(CITIES)
        plans = [plan for plan in base["plans"] if rng.random() < 0.7] or base["plans"][:1]
        if not any(plan["public"] for plan in plans):
            plans = [next(plan for plan in base["plans"] if plan["public"]), *plans]
        extra = " ".join(rng.sample(SENTENCES, 2))
        yield {
            **base,
            "slug": f"{base['slug']}-{index:05d}",
            "name": f"{base['name']} «{edition}», {city}",
            "short_description": f"{base['short_description']} {city}.",
            "description": f"{base['description']} {extra}",
            "tags": [*base["tags"], edition.lower()],
            "plans": [
                {**plan, "unit_price": str(jittered(Decimal(plan["unit_price"]), rng))}
                for plan in plans
            ],
        }


def rows(count: int, *, now: datetime, seed: int = 7) -> Rows:
    """Table rows of ``count`` published products, as approval leaves them."""
    rng = random.Random(seed)
    partners = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(PARTNERS)]
    operator = uuid.UUID(int=rng.getrandbits(128), version=4)
    today = now.date()
    out = Rows()
    for body in offers(count, seed=seed):
        product_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        published_at = now - timedelta(seconds=rng.randrange(2 * 365 * 24 * 3600))
        created_at = published_at - timedelta(days=rng.randrange(1, 30))
        content = {name: body.get(name) for name in EDITABLE}
        content["media"] = body.get("media", [])
        out.products.append(
            (
                product_id,
                rng.choice(partners),
                body["slug"],
                body["name"],
                body["short_description"],
                body["description"],
                body["category"],
                body["tags"],
                json.dumps(content["media"], ensure_ascii=False),
                body.get("documentation_url"),
                json.dumps(body["support"], ensure_ascii=False) if body.get("support") else None,
                "published",
                1,  # one event so far: product.published
                published_at,
                created_at,
                published_at,
            )
        )
        out.revisions.append(
            (
                uuid.UUID(int=rng.getrandbits(128), version=4),
                product_id,
                1,
                "approved",
                json.dumps(content, ensure_ascii=False),
                created_at,
                published_at - timedelta(hours=rng.randrange(1, 48)),
                published_at,
                operator,
            )
        )
        for position, plan in enumerate(body["plans"]):
            price = Decimal(plan["unit_price"])
            scheduled = rng.random() < 0.05  # a price change announced, some already in force
            out.plans.append(
                (
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    product_id,
                    position,
                    plan["code"],
                    plan["name"],
                    plan["billing_period"],
                    plan["pricing_unit"],
                    price,
                    plan["vat_mode"],
                    plan["min_quantity"],
                    plan["max_quantity"],
                    plan["trial_days"],
                    plan["public"],
                    (price * Decimal("1.1")).quantize(KOPECK) if scheduled else None,
                    today + timedelta(days=rng.randrange(-30, 60)) if scheduled else None,
                )
            )
    return out


async def load(dsn: str, count: int) -> float:
    """Write ``count`` published products with COPY and ANALYZE; seconds it took."""
    started = time.perf_counter()
    data = rows(count, now=datetime.now(UTC))
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            for table, columns, records in (
                ("products", PRODUCT_COLUMNS, data.products),
                ("product_revisions", REVISION_COLUMNS, data.revisions),
                ("plans", PLAN_COLUMNS, data.plans),
            ):
                await connection.copy_records_to_table(table, records=records, columns=columns)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return time.perf_counter() - started


# -- the scenarios and the SQL behind them ---------------------------------------------------


def scenarios(slug: str, cursor: str) -> list[Scenario]:
    """What visitors do most: the front page, a shelf by price, scrolling, search, a product."""
    listing = "/storefront/products"
    return [
        Scenario("newest", listing, {"limit": "20"}),
        Scenario(
            "category_price",
            listing,
            {"category": "data-center-cloud", "price_min": "500", "price_max": "5000"}
            | {"sort": "price", "limit": "20"},
        ),
        Scenario("next_page", listing, {"limit": "20", "cursor": cursor}),
        Scenario("search_common", listing, {"q": "облако", "limit": "20"}),
        Scenario("search_two_words", listing, {"q": "резервное копирование", "limit": "20"}),
        Scenario("product_page", f"/storefront/products/{slug}"),
    ]


def item_ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]] if "items" in body else [body["id"]]


@asynccontextmanager
async def captured_app(database_url: str) -> AsyncIterator[Capture]:
    """The catalog app in this process, with an ear on what it sends to PostgreSQL."""
    app = build_app(SERVICE, CatalogSettings(database_url=database_url))
    async with app_client(app) as client:
        await client.get("/storefront/products", params={"limit": "1"})  # connects, warms up
        statements: list[Statement] = []

        def record(
            connection: Any, cursor: Any, sql: str, parameters: Any, context: Any, many: bool
        ) -> None:
            statements.append(Statement(sql, tuple(parameters or ())))

        engine = app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)

        async def capture(scenario: Scenario) -> tuple[list[Statement], dict[str, Any]]:
            statements.clear()
            response = await client.get(scenario.path, params=scenario.params)
            response.raise_for_status()
            return list(statements), response.json()

        try:
            yield capture
        finally:
            event.remove(engine, "before_cursor_execute", record)


async def replay(
    connection: asyncpg.Connection, statements: list[Statement]
) -> list[list[asyncpg.Record]]:
    return [await connection.fetch(s.sql, *s.parameters) for s in statements]


def same_answer(floor: list[list[asyncpg.Record]], api_ids: list[str]) -> bool:
    """Did one of the replayed statements return the products the API answered with? (A page
    query asks for one row more than it shows, to know whether there is a next page.)"""
    return any(
        [str(row.get("id")) for row in result][: len(api_ids)] == api_ids for result in floor
    )


# -- driving the load ------------------------------------------------------------------------


async def drive(call: Callable[[], Awaitable[object]], requests: int, concurrency: int) -> Figures:
    """``requests`` calls from ``concurrency`` clients, each waiting for its previous answer."""
    latencies: list[float] = []
    remaining = requests

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cut = statistics.quantiles(latencies, n=100, method="inclusive")
    return Figures(requests / elapsed, 1000 * statistics.median(latencies), 1000 * cut[98])


def median_figures(rounds: list[Figures]) -> dict[str, float]:
    return {
        "requests_per_s": round(statistics.median(f.requests_per_s for f in rounds)),
        "p50_ms": round(statistics.median(f.p50_ms for f in rounds), 2),
        "p99_ms": round(statistics.median(f.p99_ms for f in rounds), 2),
    }


def start_api(database_url: str, home: Path) -> tuple[ServiceProcess, str]:
    """``python -m catalog api`` on a free loopback port, as it runs in production; started
    before the data is loaded, as importing the app takes a few seconds of its own."""
    port = free_port()
    process = ServiceProcess(
        "catalog",
        "api",
        database_url=database_url,
        bootstrap_servers="127.0.0.1:9",  # the API alone never talks to Kafka
        log_path=home / "catalog-api.log",
        env={"CATALOG_HTTP_HOST": "127.0.0.1", "CATALOG_HTTP_PORT": str(port)},
    ).start()
    return process, f"http://127.0.0.1:{port}"


async def wait_live(process: ServiceProcess, http: httpx.AsyncClient, timeout: float = 30) -> None:
    # /health/ready would want the broker too; that the process serves is all this needs.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.running:
        with contextlib.suppress(httpx.TransportError):
            if (await http.get("/health/live")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the catalog API did not start:\n{process.logs(tail=5000)}")


async def explain(dsn: str, captured: dict[str, list[Statement]]) -> None:
    """Print how PostgreSQL runs each scenario's statements with their values (custom plans;
    ``EXPLAIN`` plans with the parameters it is given)."""
    connection = await asyncpg.connect(dsn)
    try:
        for name, statements in captured.items():
            for statement in statements:
                plan = await connection.fetch(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, *statement.parameters
                )
                print(f"-- {name}\n{statement.sql}\n{statement.parameters}")
                print("\n".join(row[0] for row in plan), end="\n\n")
    finally:
        await connection.close()


async def capture_scenarios(
    database_url: str,
) -> tuple[list[Scenario], dict[str, tuple[list[Statement], dict[str, Any]]]]:
    """The scenarios (their cursor and slug taken from the data) and what each one runs."""
    async with captured_app(database_url) as capture:
        _, first_page = await capture(Scenario("", "/storefront/products", {"limit": "20"}))
        slug = first_page["items"][len(first_page["items"]) // 2]["slug"]
        plan = scenarios(slug, first_page["next_cursor"])
        return plan, {s.name: await capture(s) for s in plan}


async def compare(
    scenario: Scenario,
    statements: list[Statement],
    *,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    requests: int,
    concurrency: int,
    rounds: int,
) -> tuple[list[Figures], list[Figures]]:
    """The floor's and the API's figures for one scenario, round by round."""

    async def floor() -> None:
        async with pool.acquire() as connection:
            await replay(connection, statements)

    async def api() -> None:
        response = await http.get(scenario.path, params=scenario.params)
        response.raise_for_status()

    # Warm both sides alike: connections, statement caches, the plan cache.
    await drive(floor, min(requests, 10 * concurrency), concurrency)
    await drive(api, min(requests, 10 * concurrency), concurrency)
    floors, measured = [], []
    for _ in range(rounds):  # interleaved, so drift in the machine hits both alike
        floors.append(await drive(floor, requests, concurrency))
        measured.append(await drive(api, requests, concurrency))
    return floors, measured


def result(
    scenario: Scenario,
    statements: int,
    floors: list[Figures],
    measured: list[Figures],
    **facts: object,
) -> dict[str, object]:
    floor_figures, measured_figures = median_figures(floors), median_figures(measured)
    query = "&".join(f"{k}={v}" for k, v in scenario.params.items() if k != "cursor")
    if "cursor" in scenario.params:
        query += "&cursor=<page 2 of newest>"
    return {
        "benchmark": f"catalog_browse.{scenario.name}",
        **facts,
        "floor": {
            "name": f"asyncpg, the same SQL ({statements} statement{'s' * (statements > 1)})",
            **floor_figures,
        },
        "measured": {
            "name": f"GET {scenario.path}" + (f"?{query}" if query else ""),
            **measured_figures,
        },
        "ratio": round(measured_figures["requests_per_s"] / floor_figures["requests_per_s"], 3),
    }


async def measure(
    database_url: str,
    *,
    products: int,
    requests: int,
    concurrency: int,
    rounds: int,
    home: Path,
    show_plans: bool,
) -> list[dict[str, object]]:
    dsn = database_url.replace("postgresql+asyncpg", "postgresql")
    upgrade(SERVICE.migrations, database_url)
    process, base_url = start_api(database_url, home)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    try:
        loaded_in = await load(dsn, products)
        plan, captured = await capture_scenarios(database_url)
        if show_plans:
            await explain(dsn, {name: statements for name, (statements, _) in captured.items()})
        async with (
            asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency) as pool,
            httpx.AsyncClient(base_url=base_url, limits=limits) as http,
        ):
            await wait_live(process, http)
            results = []
            for scenario in plan:
                statements, answer = captured[scenario.name]
                async with pool.acquire() as connection:
                    replayed = await replay(connection, statements)
                assert same_answer(replayed, item_ids(answer)), f"{scenario.name}: not the same"
                floors, measured = await compare(
                    scenario,
                    statements,
                    pool=pool,
                    http=http,
                    requests=requests,
                    concurrency=concurrency,
                    rounds=rounds,
                )
                results.append(
                    result(
                        scenario,
                        len(statements),
                        floors,
                        measured,
                        products=products,
                        loaded_in_s=round(loaded_in, 2),
                        requests=requests,
                        concurrency=concurrency,
                        rounds=rounds,
                    )
                )
            return results
    finally:
        process.stop()


async def main(
    *,
    products: int,
    requests: int,
    concurrency: int = 8,
    rounds: int = 3,
    postgres_url: str | None = None,
    show_plans: bool = False,
) -> list[dict[str, object]]:
    """One result per scenario, in ``bench/run.py``'s shape plus latency figures."""
    home = Path(tempfile.mkdtemp(prefix="vitrina-bench-"))
    postgres = None
    if postgres_url is None:
        postgres = EmbeddedPostgres(home / "pg", keep_data=False).start()
        postgres_url = postgres.url("postgres")
    database_url = (
        make_url(postgres_url)
        .set(database=f"bench_catalog_{uuid.uuid4().hex[:8]}")
        .render_as_string(hide_password=False)
    )
    create_database(database_url)
    try:
        return await measure(
            database_url,
            products=products,
            requests=requests,
            concurrency=concurrency,
            rounds=rounds,
            home=home,
            show_plans=show_plans,
        )
    finally:
        drop_database(database_url)
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1_000, help="per scenario and round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("VITRINA_BENCH_POSTGRES_URL"),
        help="a PostgreSQL server to use instead of an embedded one",
    )
    parser.add_argument("--explain", action="store_true", help="print each statement's plan")
    args = parser.parse_args()
    results = asyncio.run(
        main(
            products=args.products,
            requests=args.requests,
            concurrency=args.concurrency,
            rounds=args.rounds,
            postgres_url=args.postgres_url,
            show_plans=args.explain,
        )
    )
    print(json.dumps(results, indent=2, ensure_ascii=False))
