"""The order → invoice path under faults: a steady stream of orders through the orders API while
a process dies (kill -9), the broker goes away for 10 s, or PostgreSQL drops the services'
connections. Afterwards every order is placed once and billed exactly once (one invoice per
subscription and period), invoice numbers have no gap and no repeat, every outbox row is
published, no dead letter is written — and the business state equals that of a clean run of
the same orders (:func:`ordering.business_state`).

Every piece is real: orders and billing as processes (API, consumer and relay of each apart),
the embedded broker, PostgreSQL. ``fault_long`` marks the long variants (repeated kills, a
longer stream); CI runs them in a step of their own (``-m fault_long``).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from vitrina_kit import kafka
from vitrina_kit.local import EmbeddedBroker, create_database, drop_database
from vitrina_kit.migrations import upgrade
from vitrina_kit.testing import TestIssuer, migrated_database
from vitrina_kit.testing.database import execute, terminate_connections

from .ordering import (
    RETRY_STAGES,
    SERVICES,
    MakeDatabase,
    Placed,
    Projection,
    Stack,
    business_state,
    check_invariants,
    invoice_count,
    order_inputs,
    pending_outbox,
    place_orders,
    placed_at_least,
    rows,
    seed,
    settle,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ORDERS = 24
LONG_ORDERS = 60


async def _clean_run(postgres_url: str, issuer: TestIssuer, home: Path, count: int) -> Projection:
    databases: dict[str, str] = {}
    for name, service in SERVICES.items():
        url = (
            make_url(postgres_url)
            .set(database=f"t_clean_{name}_{uuid.uuid4().hex[:8]}")
            .render_as_string(hide_password=False)
        )
        create_database(url)
        databases[name] = url
        upgrade(service.migrations, url)
    try:
        with EmbeddedBroker(log_file=home / "broker.log") as broker:
            stack = Stack(broker.bootstrap_servers, databases, issuer, home)
            try:
                stack.start_all()
                await seed(stack)
                inputs = order_inputs(count)
                await place_orders(stack, inputs, Placed(), pace=0.02)
                await settle(stack, invoices=count)
                await check_invariants(stack, inputs)
                return await business_state(databases)
            finally:
                print(stack.close())  # shown by pytest only when the test failed
    finally:
        for url in databases.values():
            drop_database(url)


_clean: dict[int, Projection] = {}


def clean_state(postgres_url: str, issuer: TestIssuer, count: int) -> Projection:
    """The state a clean run of ``count`` orders ends in (run once per session and count)."""
    if count not in _clean:
        home = Path(tempfile.mkdtemp(prefix="vitrina-fault-clean-"))
        try:
            # Its own event loop and broker: nothing of the faulted test's is shared.
            _clean[count] = _run_in_thread(_clean_run(postgres_url, issuer, home, count))
        finally:
            shutil.rmtree(home, ignore_errors=True)
    return _clean[count]


def _run_in_thread(coroutine: object) -> Projection:
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()  # type: ignore[arg-type]


@pytest.fixture
async def stack(
    make_database: MakeDatabase, kafka_bootstrap: str, token_issuer: TestIssuer, tmp_path: Path
) -> AsyncIterator[Stack]:
    databases = {name: migrated_database(make_database, s) for name, s in SERVICES.items()}
    running = Stack(kafka_bootstrap, databases, token_issuer, tmp_path)
    try:
        running.start_all()
        await seed(running)
        yield running
    finally:
        print(running.close())  # shown by pytest only when the test failed


@pytest.fixture
def clean(postgres_url: str, token_issuer: TestIssuer) -> Projection:
    return clean_state(postgres_url, token_issuer, ORDERS)


# -- kill -9 each process mid-stream -------------------------------------------------------------

PROCESSES = [
    ("orders", "api"),
    ("orders", "consumer"),
    ("orders", "relay"),
    ("billing", "consumer"),
    ("billing", "relay"),
]


async def _killed_mid_stream(
    stack: Stack, service: str, command: str, *, count: int, kills: int
) -> None:
    inputs = order_inputs(count)
    placed = Placed()
    stream = asyncio.create_task(place_orders(stack, inputs, placed))
    try:
        for round_ in range(kills):
            await placed_at_least(placed, (round_ + 1) * count // (kills + 2))
            stack.kill(service, command)
            await asyncio.sleep(1.0)  # the stream goes on without it
            stack.start(service, command)
        await stream
    finally:
        stream.cancel()
    await settle(stack, invoices=count)
    await check_invariants(stack, inputs)


@pytest.mark.parametrize(("service", "command"), PROCESSES, ids=["-".join(p) for p in PROCESSES])
async def test_a_process_killed_mid_stream_loses_and_doubles_nothing(
    stack: Stack, clean: Projection, service: str, command: str
) -> None:
    await _killed_mid_stream(stack, service, command, count=ORDERS, kills=1)
    assert await business_state(stack.databases) == clean


@pytest.mark.fault_long
@pytest.mark.parametrize(("service", "command"), PROCESSES, ids=["-".join(p) for p in PROCESSES])
async def test_a_process_killed_again_and_again_loses_and_doubles_nothing(
    stack: Stack, postgres_url: str, token_issuer: TestIssuer, service: str, command: str
) -> None:
    await _killed_mid_stream(stack, service, command, count=LONG_ORDERS, kills=4)
    assert await business_state(stack.databases) == clean_state(
        postgres_url, token_issuer, LONG_ORDERS
    )


@pytest.mark.fault_long
async def test_every_process_killed_at_once_loses_and_doubles_nothing(
    stack: Stack, postgres_url: str, token_issuer: TestIssuer
) -> None:
    inputs = order_inputs(LONG_ORDERS)
    placed = Placed()
    stream = asyncio.create_task(place_orders(stack, inputs, placed))
    try:
        for round_ in range(3):
            await placed_at_least(placed, (round_ + 1) * LONG_ORDERS // 5)
            for process in list(stack.processes):
                stack.kill(*process)
            await asyncio.sleep(1.0)
            stack.start_all()
        await stream
    finally:
        stream.cancel()
    await settle(stack, invoices=LONG_ORDERS)
    await check_invariants(stack, inputs)
    assert await business_state(stack.databases) == clean_state(
        postgres_url, token_issuer, LONG_ORDERS
    )


# -- PostgreSQL drops the services' connections --------------------------------------------------


async def test_dropped_database_connections_lose_and_double_nothing(
    stack: Stack, clean: Projection
) -> None:
    inputs = order_inputs(ORDERS)
    placed = Placed()
    stream = asyncio.create_task(place_orders(stack, inputs, placed))
    terminated = 0
    try:
        for round_ in range(4):
            await placed_at_least(placed, (round_ + 1) * ORDERS // 6)
            for url in stack.databases.values():
                terminated += await terminate_connections(url)
        await stream
    finally:
        stream.cancel()
    assert terminated > 0, "no backend was there to terminate"
    await settle(stack, invoices=ORDERS)
    await check_invariants(stack, inputs)
    assert await business_state(stack.databases) == clean
    for process in stack.processes.values():
        assert process.running, f"{process!r} did not survive its connections being dropped"


# -- the broker goes away for 10 s ----------------------------------------------------------------


async def test_a_broker_restart_loses_only_what_sat_unconsumed_in_the_broker(
    stack: Stack, kafka_broker: EmbeddedBroker | None, clean: Projection
) -> None:
    """The embedded broker keeps nothing across a restart (BROKER.md). What the outbox still
    guarantees then, and what it cannot:

    - rows committed but not yet published (orders placed while the broker is down) are
      published once it is back, and billed: the outbox needs no broker to accept work;
    - events consumed before the restart stay applied, and nothing is applied twice;
    - events published but not yet consumed are gone with the broker's memory: their
      subscriptions are not billed, and nothing tells the consumers so. A durable Kafka keeps
      them (and the committed offsets), and the consumers simply go on: no loss at all.
    - re-publishing the outbox rows since a point before the restart recovers them: consumers
      drop what they had applied by event id, and the state becomes the clean run's.
    """
    if kafka_broker is None:
        pytest.skip("the broker is configured (not this test's own), so it cannot restart it")
    orders_db, billing_db = stack.databases["orders"], stack.databases["billing"]
    inputs = order_inputs(ORDERS)
    third = ORDERS // 3
    consumed, stranded, offline = inputs[:third], inputs[third : 2 * third], inputs[2 * third :]

    # 1. All running: these are consumed and billed before the restart.
    await place_orders(stack, consumed, Placed(), pace=0.02)
    await settle(stack, invoices=len(consumed))

    # 2. Billing's consumer is down: these are published and sit in the broker, unconsumed.
    stack.kill("billing", "consumer")
    await place_orders(stack, stranded, Placed(), pace=0.02)

    async def drained() -> bool:
        return await pending_outbox(orders_db) == 0

    from vitrina_kit.testing import wait_until

    await wait_until(drained, timeout=30, message="orders' outbox published")
    # Consumers must not keep positions in partitions the new broker does not have.
    stack.kill("orders", "consumer")

    # 3. The broker goes away for 10 s; orders are still accepted (the outbox holds them).
    kafka_broker.stop()
    outage = asyncio.create_task(asyncio.sleep(10))
    await place_orders(stack, offline, Placed(), pace=0.02)
    assert await pending_outbox(orders_db) >= len(offline)
    await outage

    # 4. Back, empty: topics recreated, every Kafka client started again (BROKER.md). The
    #    relays are stopped across the restart: the restarted embedded broker acknowledges
    #    writes to topics it has not recreated yet and then serves none of them (seen: 30 of
    #    30 sends acknowledged, 0 readable), so a relay that reconnects early marks rows
    #    published that no one will ever read. A durable Kafka keeps its topics: there the
    #    relays simply reconnect and go on.
    for service in SERVICES:
        stack.kill(service, "relay")
    kafka_broker.start()
    await kafka.ensure_topics(stack.bootstrap, retry_stages=RETRY_STAGES.split(","))
    for service in SERVICES:
        stack.start(service, "relay")
    stack.start("orders", "consumer")
    stack.start("billing", "consumer")
    await settle(stack, invoices=len(consumed) + len(offline), timeout=120)
    lost = frozenset(order.ref for order in stranded)
    await check_invariants(stack, inputs, lost=lost)
    state = await business_state(stack.databases)
    assert {ref: value for ref, value in state.items() if ref not in lost} == {
        ref: value for ref, value in clean.items() if ref not in lost
    }
    for ref in lost:  # orders knows them; billing never heard of them
        _quantity, status, in_billing, invoices = state[ref]
        assert (status, in_billing, invoices) == ("pending", None, ())

    # 5. The remedy the embedded broker needs: publish again what was published before the
    #    restart. Billing drops what it already applied (its inbox) and bills the rest.
    republished = await execute(
        orders_db,
        "UPDATE outbox_messages SET published_at = NULL WHERE topic = 'orders.subscriptions'",
    )
    assert republished >= len(inputs)
    await settle(stack, invoices=len(inputs), timeout=120)
    await check_invariants(stack, inputs)
    assert await business_state(stack.databases) == clean
    duplicates = await rows(
        billing_db,
        "SELECT count(*) FROM inbox_messages WHERE topic = 'orders.subscriptions'",
    )
    assert duplicates[0][0] == len(inputs), "an event applied twice"
    assert await invoice_count(billing_db) == len(inputs)
