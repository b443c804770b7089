"""The order → invoice path as the fault tests drive it: orders and billing as processes (API,
consumer and relay each in its own process, so each can be killed alone), a steady stream of
orders over HTTP, and the checks every faulted run must pass.

The inputs are fixed (customers, product and orders are derived from fixed names), so a clean run
and a faulted run of them can be compared on a normalized projection of the business state:
per order (by its purchase-order reference) the seats, the subscription's status in orders and
in billing, and the invoices billed for it with their amounts — never ids or numbers, which
depend on timing.

Not a test module (no ``test_`` prefix): the fault tests import it.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

import billing.main
import orders.main
from vitrina_contracts.envelope import CloudEvent, build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.catalog import PlanSnapshot, ProductPublished
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_contracts.registry import TOPICS
from vitrina_kit import kafka
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.local import free_port
from vitrina_kit.service import Service
from vitrina_kit.testing import ServiceProcess, TestIssuer, read_topics, send_raw, wait_until
from vitrina_kit.testing.database import query, scalar

NAMESPACE = uuid.UUID("6f9d0c3e-1d2b-4c6a-9e51-0a7b3c5d9f10")
RETRY_STAGES = "500ms,1s,2s"  # bounded: a retried event is due within seconds
SERVICES: dict[str, Service] = {"orders": orders.main.SERVICE, "billing": billing.main.SERVICE}
COMMANDS = ("api", "consumer", "relay")


def fixed_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


CUSTOMERS = [fixed_id(f"customer-{n}") for n in range(4)]
PRODUCT_ID = fixed_id("product")
PLAN_ID = fixed_id("plan-standard")
_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def _inn(n: int) -> str:
    head = f"77{n:07d}"
    check = sum(int(d) * w for d, w in zip(head, _INN10_WEIGHTS, strict=True)) % 11 % 10
    return f"{head}{check}"


def envelope(event: Event, *, subject: uuid.UUID, version: int = 1) -> CloudEvent:
    owner = event.topic.split(".", 1)[0]
    return build_envelope(
        event, source=f"/vitrina/{owner}", subject=str(subject), aggregate_version=version
    )


def world_events() -> list[CloudEvent]:
    """What identity and the catalog told everyone long before the orders: the buyers (active,
    with requisites) and one product with a monthly per-seat plan without a trial."""
    example = OrganizationUpdated.example().organization
    events = [
        envelope(
            OrganizationUpdated(
                organization=example.model_copy(
                    update={"organization_id": customer, "inn": _inn(n + 1), "version": 1}
                )
            ),
            subject=customer,
        )
        for n, customer in enumerate(CUSTOMERS)
    ]
    plan = PlanSnapshot(
        plan_id=PLAN_ID,
        code="standard",
        name="Стандарт",
        billing_period="month",
        pricing_unit="seat",
        unit_price=Decimal("450.00"),
        vat_mode="standard",
        min_quantity=1,
        max_quantity=100,
        trial_days=0,
    )
    product = ProductPublished.example().product.model_copy(
        update={"product_id": PRODUCT_ID, "plans": (plan,), "version": 1}
    )
    events.append(envelope(ProductPublished(product=product), subject=PRODUCT_ID))
    return events


async def publish(bootstrap: str, events: Iterable[CloudEvent]) -> None:
    """To each event's topic, keyed by its aggregate, as its owner's relay does."""
    from vitrina_contracts.registry import event_class

    for each in events:
        cls = event_class(each.type)
        assert cls is not None
        await send_raw(bootstrap, cls.topic, [each.to_json_bytes()], key=each.subject.encode())


@dataclass(frozen=True)
class OrderInput:
    index: int
    customer: uuid.UUID
    quantity: int

    @property
    def ref(self) -> str:
        return f"PO-{self.index:04d}"

    @property
    def key(self) -> str:
        return str(fixed_id(f"order-{self.index}"))

    def body(self) -> dict[str, Any]:
        return {
            "lines": [{"plan_id": str(PLAN_ID), "quantity": self.quantity}],
            "purchase_order_ref": self.ref,
        }


def order_inputs(count: int) -> list[OrderInput]:
    return [OrderInput(i, CUSTOMERS[i % len(CUSTOMERS)], 1 + i % 7) for i in range(count)]


@dataclass
class Stack:
    """Orders and billing, each as three processes, on one broker and two databases."""

    bootstrap: str
    databases: dict[str, str]
    issuer: TestIssuer
    log_dir: Path
    api_port: int = field(default_factory=free_port)
    processes: dict[tuple[str, str], ServiceProcess] = field(default_factory=dict)
    retired: list[ServiceProcess] = field(default_factory=list)

    def start(self, service: str, command: str) -> ServiceProcess:
        prefix = service.upper() + "_"
        env = {
            "VITRINA_AUTH_JWKS_URL": self.issuer.jwks_url or "",
            prefix + "CONSUMER_RETRY_STAGES": RETRY_STAGES,
            # Billing's calendar and dunning run once at start (nothing due today), not mid-test.
            "BILLING_RUN_INTERVAL_SECONDS": "3600",
            "BILLING_DUNNING_INTERVAL_SECONDS": "3600",
        }
        count = len(self.retired) + len(self.processes)
        process = ServiceProcess(
            service,
            command,
            database_url=self.databases[service],
            bootstrap_servers=self.bootstrap,
            port=self.api_port if (service, command) == ("orders", "api") else None,
            env=env,
            log_path=self.log_dir / f"{service}-{command}-{count}.log",
        )
        previous = self.processes.get((service, command))
        if previous is not None:
            self.retired.append(previous)
        self.processes[(service, command)] = process
        return process.start()

    def start_all(self) -> None:
        for service in SERVICES:
            for command in COMMANDS:
                if (service, command) != ("billing", "api"):  # the flow needs no billing API
                    self.start(service, command)

    async def ready(self, timeout: float = 180.0) -> None:
        """Until every worker process says it runs (start-up takes long on a loaded machine)."""
        started = {"consumer": "consumer started", "relay": "outbox relay started"}
        for (_, command), process in self.processes.items():
            if command in started:

                async def up(
                    process: ServiceProcess = process, line: str = started[command]
                ) -> bool:
                    assert process.running, f"{process!r} exited:\n{process.logs(tail=4000)}"
                    return line in process.logs()

                await wait_until(up, timeout=timeout, interval=0.2, message=f"{process!r} up")

    def kill(self, service: str, command: str) -> None:
        self.processes[(service, command)].kill()

    def close(self) -> str:
        """Kill everything; the tail of every log, for a failing test to show."""
        shown = []
        for process in [*self.retired, *self.processes.values()]:
            process.kill()
            shown.append(f"----- {process!r} -----\n{process.logs(tail=6_000)}")
        return "\n".join(shown)

    def all_logs(self) -> str:
        return "".join(p.logs() for p in [*self.retired, *self.processes.values()])

    @property
    def orders_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"


async def seed(stack: Stack) -> None:
    """The projections both services need, through the broker, applied before any order."""
    await kafka.ensure_topics(stack.bootstrap, retry_stages=RETRY_STAGES.split(","))
    await publish(stack.bootstrap, world_events())
    await stack.ready()

    async def projected() -> bool:
        counts = [
            await scalar(
                stack.databases[name],
                "SELECT (SELECT count(*) FROM organizations) * 10"
                " + (SELECT count(*) FROM catalog_products)",
            )
            for name in SERVICES
        ]
        return counts == [len(CUSTOMERS) * 10 + 1] * 2

    await wait_until(projected, timeout=60, message="the buyers and the product in projections")


@dataclass
class Placed:
    """What the stream of orders achieved, as its client saw it."""

    done: list[int] = field(default_factory=list)
    attempts: int = 0
    replayed: int = 0


async def place_orders(
    stack: Stack,
    inputs: list[OrderInput],
    placed: Placed,
    *,
    pace: float = 0.08,
    timeout: float = 120.0,
) -> None:
    """A steady stream of orders, one at a time: each retried with its Idempotency-Key until the
    API answers 201 (a killed API, a dropped database connection are what is retried)."""
    headers = {c: stack.issuer.headers(c, OrganizationKind.BUSINESS) for c in CUSTOMERS}
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=stack.orders_url, timeout=10) as http:
        for order in inputs:
            while True:
                assert time.monotonic() < deadline, f"order {order.ref} not placed in {timeout}s"
                placed.attempts += 1
                try:
                    answer = await http.post(
                        "/orders",
                        json=order.body(),
                        headers={**headers[order.customer], "Idempotency-Key": order.key},
                    )
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
                    continue
                if answer.status_code >= 500:
                    await asyncio.sleep(0.1)
                    continue
                assert answer.status_code == 201, f"{order.ref}: {answer.status_code} {answer.text}"
                if answer.headers.get("idempotent-replayed"):
                    placed.replayed += 1
                placed.done.append(order.index)
                break
            await asyncio.sleep(pace)


async def placed_at_least(placed: Placed, count: int, timeout: float = 60) -> None:
    async def enough() -> bool:
        return len(placed.done) >= count

    await wait_until(enough, timeout=timeout, interval=0.02, message=f"{count} orders placed")


# -- the checks --------------------------------------------------------------------------------


async def rows(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` as plain tuples."""
    return [tuple(row) for row in await query(database_url, sql, **params)]


async def pending_outbox(database_url: str) -> int:
    return int(
        await scalar(
            database_url, "SELECT count(*) FROM outbox_messages WHERE published_at IS NULL"
        )
        or 0
    )


async def invoice_count(billing_db: str) -> int:
    return int(await scalar(billing_db, "SELECT count(*) FROM invoices") or 0)


async def settle(stack: Stack, *, invoices: int, timeout: float = 180.0) -> None:
    """Wait until both outboxes are drained and billing issued ``invoices`` invoices, then a
    moment more, for a late duplicate to show itself."""

    async def quiet() -> bool:
        return (
            await pending_outbox(stack.databases["orders"]) == 0
            and await pending_outbox(stack.databases["billing"]) == 0
            and await invoice_count(stack.databases["billing"]) >= invoices
        )

    await wait_until(quiet, timeout=timeout, interval=0.2, message=f"{invoices} invoices issued")
    await asyncio.sleep(1.5)
    assert await quiet()


Projection = dict[str, tuple[Any, ...]]


async def business_state(databases: Mapping[str, str]) -> Projection:
    """Per order reference: seats, the subscription's status in orders and in billing, and the
    invoices billed for it (period start, net, VAT, total, status) — nothing timing decides."""
    lines = await rows(
        databases["orders"],
        "SELECT o.purchase_order_ref, l.quantity, s.subscription_id, s.status"
        " FROM orders o JOIN order_lines l USING (order_id)"
        " JOIN subscriptions s ON s.subscription_id = l.subscription_id",
    )
    billed = await rows(
        databases["billing"],
        "SELECT b.subscription_id, b.period_starts_on, i.amount_net, i.vat_amount,"
        " i.amount_total, i.status FROM billed_periods b JOIN invoices i USING (invoice_id)"
        " ORDER BY b.period_starts_on",
    )
    statuses = {
        row[0]: row[1]
        for row in await rows(
            databases["billing"], "SELECT subscription_id, status FROM subscriptions"
        )
    }
    invoices: dict[Any, list[tuple[Any, ...]]] = {}
    for subscription_id, starts_on, net, vat, total, status in billed:
        invoices.setdefault(subscription_id, []).append(
            (starts_on.isoformat(), str(net), str(vat), str(total), status)
        )
    state: Projection = {}
    for ref, quantity, subscription_id, status in lines:
        assert ref not in state, f"{ref} ordered twice"
        state[ref] = (
            quantity,
            status,
            statuses.get(subscription_id),
            tuple(invoices.get(subscription_id, ())),
        )
    return state


async def check_invariants(
    stack: Stack, inputs: list[OrderInput], *, lost: frozenset[str] = frozenset()
) -> None:
    """Every order placed once, every subscription billed exactly once (one invoice per
    subscription and period) but those in ``lost``, numbers gap-free, both outboxes published,
    no dead letter anywhere."""
    orders_db, billing_db = stack.databases["orders"], stack.databases["billing"]
    refs = [row[0] for row in await rows(orders_db, "SELECT purchase_order_ref FROM orders")]
    assert sorted(refs) == sorted(o.ref for o in inputs), "an order lost or placed twice"

    per_invoice = await rows(
        billing_db,
        "SELECT i.number, count(b.subscription_id) FROM invoices i"
        " LEFT JOIN billed_periods b USING (invoice_id) GROUP BY i.number",
    )
    assert all(count == 1 for _, count in per_invoice), per_invoice
    numbers = sorted(number for number, _ in per_invoice)
    year = time.gmtime().tm_year
    assert numbers == [f"СЧ-{year}-{n:06d}" for n in range(1, len(numbers) + 1)], numbers
    counter = await scalar(
        billing_db, "SELECT last_sequence FROM document_counters WHERE kind = 'invoice'"
    )
    assert counter == len(numbers), "the counter moved past the last number: a number skipped"

    state = await business_state(stack.databases)
    for ref, (_, _, _, invoices) in state.items():
        assert len(invoices) == (0 if ref in lost else 1), f"{ref} billed {len(invoices)} times"

    for name in SERVICES:
        unpublished = await scalar(
            stack.databases[name],
            "SELECT count(*) FROM outbox_messages"
            " WHERE published_at IS NULL OR parked_at IS NOT NULL",
        )
        assert unpublished == 0, f"{name}: {unpublished} outbox rows unpublished or parked"

    await assert_no_dead_letters(stack)


async def assert_no_dead_letters(stack: Stack) -> None:
    dlqs = [topic.dlq for topic in TOPICS]
    found = await read_topics(stack.bootstrap, dlqs, quiet=0.5)
    letters = {topic: len(records) for topic, records in found.items() if records}
    assert not letters, f"dead letters: {letters}"
    assert "dead letter written" not in stack.all_logs()


def database_names(databases: Mapping[str, str]) -> dict[str, str]:
    return {name: url.rsplit("/", 1)[-1] for name, url in databases.items()}


def log_dir(base: Path, label: str) -> Path:
    path = base / label
    os.makedirs(path, exist_ok=True)
    return path


MakeDatabase = Callable[[str], str]
