"""End-to-end latency: from ``POST /orders`` to ``invoice.issued`` consumed, at a fixed rate,
against a bare produce→consume round trip on the same broker at the same rate.

The measured side is the flow as deployed, every piece a real process on the embedded broker
and PostgreSQL: orders' API, relay and consumer, billing's consumer and relay (``python -m
<service> api|relay|consumer``, the harness's broker settings: 50 ms fetch waits). This process
posts one-line orders (a monthly plan, a few seats, fresh Idempotency-Key, its own
``X-Correlation-Id``) on a fixed schedule of ``--rate`` orders per second — open loop: an order
is sent at its scheduled time whether or not earlier ones were answered, and its latency runs
from that scheduled time, so a stall shows as latency and not as fewer requests (no coordinated
omission). The API writes the order and ``subscription.created`` to its outbox; the orders relay
publishes it; billing's consumer projects the subscription and issues its first invoice, whose
``invoice.issued`` (carrying the order's correlation id) billing's relay publishes; a consumer
in this process notes when it arrives. Two Kafka hops, two outbox relays, two transactions.

The floor is the same two hops with nothing else: an aiokafka producer in this process sends a
small record per scheduled time to one topic, a forwarder (consumer and producer) copies each to
a second topic, and a consumer notes its arrival, all with the same 50 ms fetch waits, at the
same rate. On Tansu a waiting fetch is answered only when its wait ends, so most of the floor is
those waits (Apache Kafka answers early).

Figures are p50/p99 latency in ms and what arrived per second, the median of ``--rounds``
interleaved rounds of ``--seconds`` each (after a warm-up order through each path). The ratio
is floor p50 over measured p50 (1.0: the services add nothing; lower is worse), with the p99
one beside it. Run alone with ``python bench/order_to_invoice.py``, or with the others through
``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from orders_place import catalog, plans_of, seed
from sqlalchemy.engine import make_url

import billing.main
import orders.main
from billing.catalog.projection import apply_product as billing_product
from billing.organizations.projection import apply_organization as billing_organization
from vitrina_contracts.events.billing import InvoiceIssued
from vitrina_contracts.events.catalog import ProductSnapshot
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_kit import db, kafka
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.local import EmbeddedBroker, EmbeddedPostgres, create_database, free_port
from vitrina_kit.migrations import upgrade
from vitrina_kit.testing import ServiceProcess, TestIssuer

FETCH_MAX_WAIT_MS = 50
"""The services' fetch wait under the harness (``ServiceProcess``); the floor uses the same."""
INVOICE_ISSUED = "ru.vitrina.billing.invoice.issued"
BUYERS = 16
PRODUCTS = 50


@dataclass(frozen=True)
class Figures:
    p50_ms: float
    p99_ms: float
    arrived_per_s: float
    sent_late_ms: float
    """The p99 of how late the sender was on its own schedule (a busy client shows here)."""


class Arrivals:
    """When each numbered message arrived, and a way to wait for a set of them."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self._changed = asyncio.Event()

    def note(self, number: int) -> None:
        self.at.setdefault(number, time.perf_counter())
        self._changed.set()

    async def wait_for(self, numbers: range, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not all(n in self.at for n in numbers):
            missing = sum(n not in self.at for n in numbers)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{missing} of {len(numbers)} never arrived")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 1))


async def on_schedule(
    send: Callable[[int], Coroutine[object, object, None]], numbers: range, rate: float
) -> tuple[dict[int, float], list[float]]:
    """Call ``send(n)`` for each number at ``rate`` per second without waiting for any (open
    loop); the scheduled time of each, and how late each call started."""
    scheduled: dict[int, float] = {}
    late: list[float] = []
    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter() + 0.05
    for position, number in enumerate(numbers):
        at = start + position / rate
        scheduled[number] = at
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        late.append(max(0.0, time.perf_counter() - at))
        tasks.append(asyncio.create_task(send(number)))
    await asyncio.gather(*tasks)
    return scheduled, late


def figures(
    scheduled: dict[int, float], arrivals: Arrivals, late: list[float], numbers: range
) -> Figures:
    latencies = [arrivals.at[n] - scheduled[n] for n in numbers]
    cut = statistics.quantiles(latencies, n=100, method="inclusive")
    span = max(arrivals.at[n] for n in numbers) - min(scheduled[n] for n in numbers)
    late_cut = statistics.quantiles(late, n=100, method="inclusive")
    return Figures(
        round(1000 * statistics.median(latencies), 2),
        round(1000 * cut[98], 2),
        round(len(numbers) / span, 1),
        round(1000 * late_cut[98], 2),
    )


def consumer_of(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
    )


@contextlib.asynccontextmanager
async def receiving(
    consumer: AIOKafkaConsumer, number_of: Callable[[bytes], int | None], arrivals: Arrivals
) -> AsyncIterator[None]:
    await consumer.start()

    async def receive() -> None:
        async for record in consumer:
            number = number_of(record.value)
            if number is not None:
                arrivals.note(number)

    task = asyncio.create_task(receive())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()


# -- the floor: two bare hops -----------------------------------------------------------------


class Floor:
    """A producer, a forwarder from ``first`` to ``second`` and a receiver, all bare aiokafka."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.first = f"bench.e2e.{uuid.uuid4().hex[:8]}"
        self.second = self.first + ".next"
        self.arrivals = Arrivals()

    async def run(self, numbers: range, rate: float, *, timeout: float) -> Figures:
        producer = kafka.create_producer(self.bootstrap, client_id="bench-floor")
        forwarder = kafka.create_producer(self.bootstrap, client_id="bench-forwarder")
        source = consumer_of(self.bootstrap, self.first)
        await producer.start()
        await forwarder.start()
        await source.start()

        async def forward() -> None:
            async for record in source:
                await forwarder.send(self.second, value=record.value, key=record.key)

        forwarding = asyncio.create_task(forward())
        try:
            async with receiving(
                consumer_of(self.bootstrap, self.second),
                lambda value: int(json.loads(value)["n"]),
                self.arrivals,
            ):

                async def send(number: int) -> None:
                    body = json.dumps({"n": number, "pad": "x" * 400}).encode()
                    await producer.send_and_wait(self.first, value=body, key=str(number).encode())

                await send(-1)  # warm-up: both groups joined, the path open
                await self.arrivals.wait_for(range(-1, 0), timeout)
                scheduled, late = await on_schedule(send, numbers, rate)
                await self.arrivals.wait_for(numbers, timeout)
                return figures(scheduled, self.arrivals, late, numbers)
        finally:
            forwarding.cancel()
            await asyncio.gather(forwarding, return_exceptions=True)
            await source.stop()
            await forwarder.stop()
            await producer.stop()


# -- the measured side: orders and billing as processes ---------------------------------------


class Flow:
    """Orders' API, relay and consumer and billing's consumer and relay, running, seeded."""

    def __init__(self, bootstrap: str, api: str, tokens: list[str], plan_ids: list[str]) -> None:
        self.bootstrap = bootstrap
        self.api = api
        self.tokens = tokens
        self.plan_ids = plan_ids
        self.arrivals = Arrivals()
        self.answered: list[float] = []
        self._rng = random.Random(23)

    def correlation(self, number: int) -> str:
        return f"bench-e2e-{number}"

    def number_of(self, value: bytes) -> int | None:
        envelope = json.loads(value)
        correlation = envelope.get("correlationid") or ""
        if envelope.get("type") != INVOICE_ISSUED or not correlation.startswith("bench-e2e-"):
            return None
        return int(correlation.removeprefix("bench-e2e-"))

    async def run(self, numbers: range, rate: float, *, timeout: float) -> Figures:
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=64)
        async with (
            httpx.AsyncClient(base_url=self.api, limits=limits, timeout=120) as http,
            receiving(
                consumer_of(self.bootstrap, InvoiceIssued.topic), self.number_of, self.arrivals
            ),
        ):

            async def send(number: int) -> None:
                body = {
                    "lines": [
                        {"plan_id": self._rng.choice(self.plan_ids), "quantity": 1 + number % 9}
                    ]
                }
                started = time.perf_counter()
                response = await http.post(
                    "/orders",
                    json=body,
                    headers={
                        "Authorization": f"Bearer {self.tokens[number % len(self.tokens)]}",
                        "Idempotency-Key": str(uuid.uuid4()),
                        "X-Correlation-Id": self.correlation(number),
                    },
                )
                if response.status_code != 201:
                    raise RuntimeError(f"POST /orders: {response.status_code} {response.text}")
                self.answered.append(time.perf_counter() - started)

            warm_up = range(numbers.start - 1, numbers.start)
            for number in warm_up:
                await send(number)
            await self.arrivals.wait_for(warm_up, timeout)
            self.answered.clear()
            scheduled, late = await on_schedule(send, numbers, rate)
            await self.arrivals.wait_for(numbers, timeout)
            return figures(scheduled, self.arrivals, late, numbers)


async def seed_billing(url: str, products: list[ProductSnapshot], buyers: list[uuid.UUID]) -> None:
    engine = db.create_engine(url, pool_size=1)
    try:
        example = OrganizationUpdated.example().organization
        async with db.transaction(db.create_session_factory(engine)) as session:
            for buyer in buyers:
                organization = example.model_copy(update={"organization_id": buyer})
                await billing_organization(session, organization, version=1)
            for product in products:
                await billing_product(session, product)
    finally:
        await engine.dispose()


@contextlib.contextmanager
def services(
    orders_url: str, billing_url: str, bootstrap: str, jwks_url: str, home: Path
) -> Iterator[str]:
    """Start the five processes; the orders API's base URL."""
    port = free_port()
    started: list[ServiceProcess] = []

    def start(service: str, command: str, url: str, **extra: object) -> ServiceProcess:
        process = ServiceProcess(
            service,
            command,
            database_url=url,
            bootstrap_servers=bootstrap,
            log_path=home / f"{service}-{command}.log",
            env={"VITRINA_AUTH_JWKS_URL": jwks_url},
            **extra,  # type: ignore[arg-type]
        )
        started.append(process)
        return process.start(ready_timeout=60)

    try:
        # The workers first: they create the topics and join their groups while the API starts.
        start("orders", "relay", orders_url)
        start("orders", "consumer", orders_url)
        start("billing", "consumer", billing_url)
        start("billing", "relay", billing_url)
        start("orders", "api", orders_url, port=port)
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in reversed(started):
            process.stop()
        for process in started:
            if process.exit_code not in (0, None, -signal.SIGTERM):
                print(
                    f"{process} exited {process.exit_code}:\n{process.logs(tail=3_000)}",
                    file=sys.stderr,
                )


async def main(
    *, rate: float = 100, seconds: float = 30, rounds: int = 3, timeout: float = 120
) -> dict[str, object]:
    """One result: the floor's and the flow's latency at ``rate`` for ``seconds`` a round."""
    home = Path(tempfile.mkdtemp(prefix="vitrina-bench-"))
    postgres = EmbeddedPostgres(home / "pg", keep_data=False).start()
    count = round(rate * seconds)
    issuer = TestIssuer()
    rng = random.Random(19)
    buyers = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(BUYERS)]
    tokens = [
        issuer.token(organization_id=buyer, kind=OrganizationKind.BUSINESS, lifetime_seconds=7200)
        for buyer in buyers
    ]
    shelf = catalog(PRODUCTS)
    monthly = [plan.plan_id for plan in plans_of(shelf) if plan.billing_period == "month"]
    try:
        server = postgres.url("postgres")
        orders_url, billing_url = (
            make_url(server).set(database=name).render_as_string(hide_password=False)
            for name in ("bench_e2e_orders", "bench_e2e_billing")
        )
        for url, service in (
            (orders_url, orders.main.SERVICE),
            (billing_url, billing.main.SERVICE),
        ):
            create_database(url)
            upgrade(service.migrations, url)
        await seed(orders_url, shelf, buyers)
        await seed_billing(billing_url, shelf, buyers)
        with (
            EmbeddedBroker(log_file=home / "broker.log") as broker,
            issuer.serving_jwks() as jwks_url,
        ):
            bootstrap = broker.bootstrap_servers
            await kafka.ensure_topics(bootstrap)
            with services(orders_url, billing_url, bootstrap, jwks_url, home) as api:
                floor, flow = Floor(bootstrap), Flow(bootstrap, api, tokens, monthly)
                floors, measured = [], []
                for index in range(rounds):  # interleaved, so drift hits both alike
                    numbers = range(index * (count + 1) + 1, (index + 1) * (count + 1))
                    floors.append(await floor.run(numbers, rate, timeout=timeout))
                    measured.append(await flow.run(numbers, rate, timeout=timeout))
                answered = sorted(flow.answered)
    finally:
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)
    floor_figures, measured_figures = median(floors), median(measured)
    answer_cut = statistics.quantiles(answered, n=100, method="inclusive")
    return {
        "benchmark": "order_to_invoice",
        "rate_per_s": rate,
        "seconds": seconds,
        "orders": count,
        "rounds": rounds,
        "floor": {
            "name": f"bare aiokafka, produce → forward → consume (2 hops, {FETCH_MAX_WAIT_MS} ms "
            "fetch wait)",
            **floor_figures,
        },
        "measured": {
            "name": "POST /orders → orders outbox, relay → billing consumer (first invoice) "
            "→ billing outbox, relay → invoice.issued consumed",
            **measured_figures,
            "post_p50_ms": round(1000 * statistics.median(answered), 2),
            "post_p99_ms": round(1000 * answer_cut[98], 2),
        },
        "ratio": round(floor_figures["p50_ms"] / measured_figures["p50_ms"], 3),
        "ratio_p99": round(floor_figures["p99_ms"] / measured_figures["p99_ms"], 3),
    }


def median(rounds: list[Figures]) -> dict[str, float]:
    return {
        "p50_ms": statistics.median(f.p50_ms for f in rounds),
        "p99_ms": statistics.median(f.p99_ms for f in rounds),
        "arrived_per_s": statistics.median(f.arrived_per_s for f in rounds),
        "sent_late_p99_ms": statistics.median(f.sent_late_ms for f in rounds),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100, help="orders (records) per second")
    parser.add_argument("--seconds", type=float, default=30, help="per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120, help="for the last arrivals")
    args = parser.parse_args()
    result = asyncio.run(
        main(rate=args.rate, seconds=args.seconds, rounds=args.rounds, timeout=args.timeout)
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))
