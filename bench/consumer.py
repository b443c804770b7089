"""Each service's consumer, with its own main handler, against a bare consume-and-commit loop.

One case per service that consumes (identity consumes nothing), plus ``consumer.kit``, the
shared runner with a handler that writes one row, which says what the runner alone costs:

- ``consumer.kit``, product.published: one INSERT (a stand-in handler);
- ``consumer.orders``, product.published: its catalog projection (the product, two plans);
- ``consumer.billing``, subscription.created: projects the subscription and issues its first
  invoice (prorated, VAT, numbered, ``invoice.issued`` in the outbox);
- ``consumer.integrations``, invoice.issued: queues the invoice for 1C, looks for the buyer's
  webhook endpoints (none: the bench registers no endpoint);
- ``consumer.catalog``, organization.registered of partners: its sellers projection.

The measured side is :class:`vitrina_kit.consumer.ConsumerRunner` with the service's whole
event map (``SERVICE.handlers``, as ``python -m <service> consumer`` runs it, tracing off), on
the service's migrated database holding what the handler needs (billing: its customers and
plans; integrations: its customers), fresh for every round. The floor reads the same records
with aiokafka and, per record, inserts one row with asyncpg in a transaction of its own,
committing offsets per batch: the least any at-least-once consumer that writes to PostgreSQL
must do. Both clocks run from the first row written to the last (inbox rows for the runner),
polled by the same probe, so group joins are not counted; afterwards the handler's effects are
counted (one per event, or the run fails). A broker of its own per case, so no case's events
reach another's runner. Figures are records per second, the median of ``--rounds``
interleaved rounds.

Run alone with ``python bench/consumer.py [--cases billing,orders]``, or with the others through
``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

import billing.main
import catalog.main
import integrations.main
import orders.main
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.billing import InvoiceIssued
from vitrina_contracts.events.catalog import ProductPublished, ProductSnapshot
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationSnapshot
from vitrina_contracts.events.orders import SubscriptionCreated
from vitrina_kit import db, kafka
from vitrina_kit.consumer import ConsumerRunner, Handler, Received
from vitrina_kit.local import EmbeddedBroker, EmbeddedPostgres, create_database
from vitrina_kit.local.postgres import create_database_async, drop_database_async
from vitrina_kit.migrations import upgrade
from vitrina_kit.service import Service

Record = tuple[bytes, bytes]
"""A record's key and value."""


@dataclass(frozen=True)
class Prepared:
    """A case's records, the state its handler needs, and how its effects are counted."""

    records: list[Record]
    seed: Callable[[AsyncSession], Awaitable[None]] | None = None
    effects: str | None = None
    """A query counting what the handler did; it must equal the number of records."""


@dataclass(frozen=True)
class Case:
    name: str
    event: str
    topic: str
    handlers: Mapping[type[Event], Handler]
    migrate: Callable[[str], Awaitable[None]]
    prepare: Callable[[int], Prepared]


def enveloped(event: Event, subject: uuid.UUID, *, source: str, tenant: uuid.UUID) -> Record:
    envelope = build_envelope(
        event,
        source=source,
        subject=str(subject),
        aggregate_version=1,
        tenant_id=str(tenant),
        correlation_id=str(uuid.uuid4()),
    )
    return str(subject).encode(), envelope.to_json_bytes()


def organizations(count: int, *, kind: str, seed: int = 3) -> list[OrganizationSnapshot]:
    """``count`` organizations of ``kind``, each with its own id (the example's requisites)."""
    rng = random.Random(seed)
    example = OrganizationRegistered.example().organization
    return [
        example.model_copy(
            update={"organization_id": uuid.UUID(int=rng.getrandbits(128), version=4), "kind": kind}
        )
        for _ in range(count)
    ]


def products(count: int) -> list[ProductSnapshot]:
    from orders_place import catalog  # the same shelf the orders benchmarks sell from

    return catalog(count)


# -- the cases ------------------------------------------------------------------------------


async def migrate_kit(url: str) -> None:
    engine = db.create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(db.KitBase.metadata.create_all)
            await connection.execute(
                text("CREATE TABLE runner_effects (id serial PRIMARY KEY, note text)")
            )
    finally:
        await engine.dispose()


def migrating(service: Service) -> Callable[[str], Awaitable[None]]:
    async def migrate(url: str) -> None:
        await asyncio.to_thread(upgrade, service.migrations, url)

    return migrate


async def record_effect(session: AsyncSession, message: Received[Any]) -> None:
    await session.execute(
        text("INSERT INTO runner_effects (note) VALUES (:note)"),
        {"note": message.envelope.subject},
    )


def published(count: int) -> list[Record]:
    return [
        enveloped(
            ProductPublished(product=product),
            product.product_id,
            source="/vitrina/catalog",
            tenant=product.partner_id,
        )
        for product in products(count)
    ]


def kit_case(count: int) -> Prepared:
    return Prepared(published(count), effects="SELECT count(*) FROM runner_effects")


def orders_case(count: int) -> Prepared:
    return Prepared(published(count), effects="SELECT count(*) FROM catalog_products")


CUSTOMERS = 200
SHELF = 50


def billing_case(count: int) -> Prepared:
    """New subscriptions of ``CUSTOMERS`` customers to plans of a ``SHELF``-product catalog,
    each starting today: every one gets its first invoice."""
    from billing.catalog.projection import apply_product
    from billing.organizations.projection import apply_organization

    customers = organizations(CUSTOMERS, kind="business")
    shelf = products(SHELF)
    rng = random.Random(5)
    example = SubscriptionCreated.example().subscription
    now = datetime.now(UTC)
    records = []
    for _ in range(count):
        customer = rng.choice(customers)
        product = rng.choice(shelf)
        plan = product.plans[0]  # monthly
        subscription = example.model_copy(
            update={
                "subscription_id": uuid.uuid4(),
                "customer_id": customer.organization_id,
                "partner_id": product.partner_id,
                "product_id": product.product_id,
                "plan_id": plan.plan_id,
                "order_id": uuid.uuid4(),
                "quantity": rng.randint(1, 20),
                "period_anchor": now.date(),
                "effective_at": now,
            }
        )
        records.append(
            enveloped(
                SubscriptionCreated(subscription=subscription),
                subscription.subscription_id,
                source="/vitrina/orders",
                tenant=customer.organization_id,
            )
        )

    async def seed(session: AsyncSession) -> None:
        for customer in customers:
            await apply_organization(session, customer, version=1)
        for product in shelf:
            await apply_product(session, product)

    return Prepared(records, seed, "SELECT count(*) FROM invoices")


def integrations_case(count: int) -> Prepared:
    """Invoices of ``CUSTOMERS`` customers, each a new document for the 1C queue."""
    from integrations.organizations.projection import apply_organization

    customers = organizations(CUSTOMERS, kind="business")
    rng = random.Random(9)
    example = InvoiceIssued.example().invoice
    records = []
    for index in range(count):
        customer = rng.choice(customers)
        invoice = example.model_copy(
            update={
                "document_id": uuid.uuid4(),
                "number": f"СЧ-2025-{index + 1:06d}",
                "buyer": example.buyer.model_copy(
                    update={"organization_id": customer.organization_id}
                ),
            }
        )
        records.append(
            enveloped(
                InvoiceIssued(invoice=invoice),
                invoice.document_id,
                source="/vitrina/billing",
                tenant=customer.organization_id,
            )
        )

    async def seed(session: AsyncSession) -> None:
        for customer in customers:
            await apply_organization(session, customer, version=1)

    return Prepared(records, seed, "SELECT count(*) FROM onec_documents")


def catalog_case(count: int) -> Prepared:
    partners = organizations(count, kind="partner", seed=4)
    records = [
        enveloped(
            OrganizationRegistered(organization=partner),
            partner.organization_id,
            source="/vitrina/identity",
            tenant=partner.organization_id,
        )
        for partner in partners
    ]
    return Prepared(records, effects="SELECT count(*) FROM sellers")


CASES = {
    case.name: case
    for case in (
        Case(
            "consumer.kit",
            "product.published → one INSERT",
            ProductPublished.topic,
            {ProductPublished: record_effect},
            migrate_kit,
            kit_case,
        ),
        Case(
            "consumer.orders",
            "product.published → orders' catalog projection",
            ProductPublished.topic,
            orders.main.SERVICE.handlers,
            migrating(orders.main.SERVICE),
            orders_case,
        ),
        Case(
            "consumer.billing",
            "subscription.created → first invoice",
            SubscriptionCreated.topic,
            billing.main.SERVICE.handlers,
            migrating(billing.main.SERVICE),
            billing_case,
        ),
        Case(
            "consumer.integrations",
            "invoice.issued → 1C queue, webhooks",
            InvoiceIssued.topic,
            integrations.main.SERVICE.handlers,
            migrating(integrations.main.SERVICE),
            integrations_case,
        ),
        Case(
            "consumer.catalog",
            "organization.registered → catalog's sellers projection",
            OrganizationRegistered.topic,
            catalog.main.SERVICE.handlers,
            migrating(catalog.main.SERVICE),
            catalog_case,
        ),
    )
}


# -- measuring ------------------------------------------------------------------------------


async def count_rows(pool: asyncpg.Pool, query: str) -> int:
    return int(await pool.fetchval(query))


async def timed(
    probe: Callable[[], Awaitable[int]],
    total: int,
    consuming: asyncio.Task[None],
    *,
    timeout: float = 600,
) -> float:
    """Seconds from the first row to the last, polled every 5 ms (the probe is the database,
    the same for both sides, so there is no event to wait on); ``consuming`` failing fails it."""
    deadline = time.monotonic() + timeout

    def check(seen: int) -> None:
        if consuming.done():
            consuming.result()  # its error, if it failed
            raise RuntimeError(f"the consumer stopped after {seen} of {total}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{seen} of {total} consumed")

    while (seen := await probe()) == 0:
        check(seen)
        await asyncio.sleep(0.005)
    started = time.perf_counter()
    while (seen := await probe()) < total:
        check(seen)
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


async def bare_consumer(bootstrap: str, topic: str, dsn: str, total: int) -> float:
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4)
    await pool.execute("TRUNCATE floor_effects")
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"floor-{uuid.uuid4()}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()

    async def consume() -> None:
        async with pool.acquire() as connection:
            seen = 0
            while seen < total:
                batch = await consumer.getmany(timeout_ms=200, max_records=200)
                for records in batch.values():
                    for record in records:
                        async with connection.transaction():
                            await connection.execute(
                                "INSERT INTO floor_effects (note) VALUES ($1)", record.key.decode()
                            )
                        seen += 1
                if batch:
                    await consumer.commit()

    task = asyncio.create_task(consume())
    try:
        seconds = await timed(
            lambda: count_rows(pool, "SELECT count(*) FROM floor_effects"), total, task
        )
        await task  # its last commit
        return seconds
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await pool.close()


async def runner(
    bootstrap: str, case: Case, url: str, prepared: Prepared, total: int
) -> tuple[float, int]:
    """Records per second of the service's runner, and the handler's effects counted after."""
    engine = db.create_engine(url, pool_size=4)
    sessions = db.create_session_factory(engine)
    producer = kafka.create_producer(bootstrap, client_id="bench-dlq")
    await producer.start()
    consumer_runner = ConsumerRunner(
        group_id=f"runner-{uuid.uuid4()}",
        bootstrap_servers=bootstrap,
        sessions=sessions,
        handlers=case.handlers,
        producer=producer,
        fetch_max_wait_ms=50,
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer_runner.run(stop))
    pool = await asyncpg.create_pool(plain_dsn(url), min_size=1, max_size=2)
    try:
        seconds = await timed(
            lambda: count_rows(pool, "SELECT count(*) FROM inbox_messages"), total, task
        )
        effects = await count_rows(pool, prepared.effects) if prepared.effects else total
        return total / seconds, effects
    finally:
        stop.set()
        await task
        await pool.close()
        await producer.stop()
        await engine.dispose()


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def database(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def from_template(template: str, url: str) -> None:
    """A copy of ``template`` (migrated and seeded once) as ``url``: every round starts alike."""
    connection = await asyncpg.connect(plain_dsn(database(url, "postgres")))
    try:
        name, source = make_url(url).database, make_url(template).database
        await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    finally:
        await connection.close()


async def measure_case(
    case: Case, server: str, floor_dsn: str, *, messages: int, rounds: int
) -> dict[str, object]:
    prepared = case.prepare(messages)
    suffix = uuid.uuid4().hex[:8]
    slug = case.name.replace(".", "_")
    template = database(server, f"bench_{slug}_{suffix}")
    await create_database_async(template)
    copies: list[str] = []
    try:
        await case.migrate(template)
        if prepared.seed is not None:
            engine = db.create_engine(template, pool_size=1)
            try:
                async with db.transaction(db.create_session_factory(engine)) as session:
                    await prepared.seed(session)
            finally:
                await engine.dispose()
        with EmbeddedBroker() as broker:
            await kafka.ensure_topics(broker.bootstrap_servers)
            await produce(broker.bootstrap_servers, case.topic, prepared.records)
            floors, measured = [], []
            for index in range(rounds):  # interleaved, so drift in the machine hits both alike
                floors.append(
                    messages
                    / await bare_consumer(broker.bootstrap_servers, case.topic, floor_dsn, messages)
                )
                copy = database(server, f"bench_{slug}_{suffix}_{index}")
                await from_template(template, copy)
                copies.append(copy)
                rate, effects = await runner(
                    broker.bootstrap_servers, case, copy, prepared, messages
                )
                assert effects == messages, f"{case.name}: {effects} effects of {messages}"
                measured.append(rate)
    finally:
        for url in (*copies, template):
            await drop_database_async(url)
    floor, result = statistics.median(floors), statistics.median(measured)
    return {
        "benchmark": case.name,
        "event": case.event,
        "messages": messages,
        "rounds": rounds,
        "floor": {
            "name": "bare aiokafka consumer + asyncpg insert per message",
            "msgs_per_s": round(floor),
        },
        "measured": {"name": f"ConsumerRunner: {case.event}", "msgs_per_s": round(result)},
        "ratio": round(result / floor, 3),
    }


async def produce(bootstrap: str, topic: str, records: Sequence[Record]) -> None:
    producer = kafka.create_producer(bootstrap, client_id="bench-load")
    await producer.start()
    try:
        futures = [await producer.send(topic, value=value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def main(
    messages: int, rounds: int, cases: Sequence[str] = tuple(CASES)
) -> list[dict[str, object]]:
    """One result per case, in ``bench/run.py``'s shape."""
    home = Path(tempfile.mkdtemp(prefix="vitrina-bench-"))
    postgres = EmbeddedPostgres(home / "pg", keep_data=False).start()
    try:
        server = postgres.url("postgres")
        floor_url = database(server, "bench_floor")
        create_database(floor_url)
        floor_dsn = plain_dsn(floor_url)
        connection = await asyncpg.connect(floor_dsn)
        try:
            await connection.execute(
                "CREATE TABLE floor_effects (id serial PRIMARY KEY, note text)"
            )
        finally:
            await connection.close()
        return [
            await measure_case(CASES[name], server, floor_dsn, messages=messages, rounds=rounds)
            for name in cases
        ]
    finally:
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cases",
        default=",".join(name.removeprefix("consumer.") for name in CASES),
        help="comma-separated: " + ", ".join(name.removeprefix("consumer.") for name in CASES),
    )
    args = parser.parse_args()
    chosen = [f"consumer.{name.strip()}" for name in args.cases.split(",") if name.strip()]
    print(json.dumps(asyncio.run(main(args.messages, args.rounds, chosen)), indent=2))
