"""Crashes between the database and the broker lose nothing and apply nothing twice.

Every piece is real: services as processes, the broker, PostgreSQL; a crash is a kill -9 or,
for the relay, a transaction that never commits (which is what a killed process leaves).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import catalog.main
import orders.main
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.catalog import ProductPublished
from vitrina_kit import db, kafka
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.local import free_port
from vitrina_kit.outbox import OutboxRelay
from vitrina_kit.testing import (
    ServiceProcess,
    TestIssuer,
    migrated_database,
    read_topic,
    send_raw,
    wait_until,
)
from vitrina_kit.testing.database import scalar

pytestmark = pytest.mark.slow


class RelayKilled(Exception):
    pass


class RelayKilledBeforeMarking(OutboxRelay):
    """Sends the batch, then dies before its transaction marks the rows published."""

    async def _mark_published(self, session, row_ids):  # type: ignore[no-untyped-def]
        raise RelayKilled


async def test_a_relay_killed_after_sending_causes_a_redelivery_the_consumer_ignores(
    make_database: Callable[[str], str],
    start_service: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
) -> None:
    catalog_db = migrated_database(make_database, catalog.main.SERVICE)
    orders_db = migrated_database(make_database, orders.main.SERVICE)
    catalog_api = start_service("catalog", "api", port=free_port(), database_url=catalog_db)
    orders_worker = start_service("orders", "run", port=free_port(), database_url=orders_db)
    partner_id = uuid.uuid4()
    partner = token_issuer.headers(partner_id, OrganizationKind.PARTNER)
    operator = token_issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR)

    async with httpx.AsyncClient(base_url=catalog_api.base_url, timeout=10) as http:
        body = {
            "slug": f"backup-{uuid.uuid4().hex[:6]}",
            "name": "Резервное копирование",
            "category": "cloud",
            "plans": [
                {"code": "gb", "name": "За гигабайт", "pricing_unit": "gb", "unit_price": "4.00"}
            ],
        }
        product = (
            await http.post(
                "/products", json=body, headers={**partner, "Idempotency-Key": str(uuid.uuid4())}
            )
        ).json()
        assert (await http.post(f"/products/{product['id']}/submit", headers=partner)).is_success
        assert (await http.post(f"/products/{product['id']}/approve", headers=operator)).is_success

    # The first relay sends and dies before marking.
    await kafka.ensure_topics(kafka_bootstrap)
    engine = db.create_engine(catalog_db, pool_size=2)
    producer = kafka.create_producer(kafka_bootstrap, client_id="doomed-relay")
    await producer.start()
    try:
        with pytest.raises(RelayKilled):
            await RelayKilledBeforeMarking(
                db.create_session_factory(engine), producer
            ).publish_pending()
    finally:
        await producer.stop()
        await engine.dispose()
    assert (
        await scalar(catalog_db, "SELECT count(*) FROM outbox_messages WHERE published_at IS NULL")
        == 1
    )

    # A relay process takes over and sends the row again.
    start_service("catalog", "relay", database_url=catalog_db)

    async def published() -> bool:
        return (
            await scalar(
                catalog_db, "SELECT count(*) FROM outbox_messages WHERE published_at IS NULL"
            )
            == 0
        )

    await wait_until(published, message="the relay to mark the row")
    copies = await read_topic(kafka_bootstrap, ProductPublished.topic, expected=2)
    assert len(copies) == 2
    assert copies[0].value == copies[1].value

    await wait_until(
        lambda: _logged(orders_worker, "duplicate event ignored"), message="the copy to be ignored"
    )
    event_id = dict(copies[0].headers)["ce_id"].decode()
    assert (
        await scalar(
            orders_db, "SELECT count(*) FROM inbox_messages WHERE event_id = :id", id=event_id
        )
        == 1
    )
    assert await scalar(orders_db, "SELECT version FROM catalog_products") == 1


def _distinct_products(count: int) -> list[bytes]:
    """Envelopes of ``count`` different products, each with its own plans."""
    example = ProductPublished.example().product
    envelopes = []
    for _ in range(count):
        plans = tuple(plan.model_copy(update={"plan_id": uuid.uuid4()}) for plan in example.plans)
        product = example.model_copy(update={"product_id": uuid.uuid4(), "plans": plans})
        envelopes.append(
            build_envelope(
                ProductPublished(product=product),
                source="/vitrina/catalog",
                subject=str(product.product_id),
                aggregate_version=1,
            ).to_json_bytes()
        )
    return envelopes


async def _logged(process: ServiceProcess, text_: str) -> bool:
    return text_ in process.logs()


async def test_a_consumer_killed_mid_batch_resumes_from_its_committed_offset(
    make_database: Callable[[str], str],
    start_service: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
) -> None:
    orders_db = migrated_database(make_database, orders.main.SERVICE)
    await kafka.ensure_topics(kafka_bootstrap)
    total = 600
    await send_raw(kafka_bootstrap, ProductPublished.topic, _distinct_products(total))

    first = start_service("orders", "consumer", database_url=orders_db)

    async def some_applied() -> int:
        count = int(await scalar(orders_db, "SELECT count(*) FROM inbox_messages") or 0)
        return count if count >= 50 else 0

    applied_before_kill = await wait_until(
        some_applied, interval=0.01, timeout=60, message="the consumer to get going"
    )
    first.kill()
    after_kill = int(await scalar(orders_db, "SELECT count(*) FROM inbox_messages") or 0)
    assert applied_before_kill <= after_kill < total, "kill came too late to be mid-stream"

    second = start_service("orders", "consumer", database_url=orders_db)

    async def all_applied() -> bool:
        return await scalar(orders_db, "SELECT count(*) FROM catalog_products") == total

    await wait_until(all_applied, timeout=90, message="every event applied")
    await asyncio.sleep(1)  # let any straggling redelivery show itself
    assert await scalar(orders_db, "SELECT count(*) FROM inbox_messages") == total
    assert await scalar(orders_db, "SELECT count(DISTINCT event_id) FROM inbox_messages") == total
    # Resumed from the committed offset: at most the uncommitted batch came again, not all.
    replayed = second.logs().count("duplicate event ignored")
    assert replayed < total - after_kill + 200
    assert replayed <= 200


async def test_a_consumer_stopped_gracefully_commits_what_it_applied(
    make_database: Callable[[str], str],
    start_service: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
) -> None:
    orders_db = migrated_database(make_database, orders.main.SERVICE)
    await kafka.ensure_topics(kafka_bootstrap)
    total = 600
    await send_raw(kafka_bootstrap, ProductPublished.topic, _distinct_products(total))

    first = start_service("orders", "consumer", database_url=orders_db)

    async def some_applied() -> int:
        count = int(await scalar(orders_db, "SELECT count(*) FROM inbox_messages") or 0)
        return count if count >= 50 else 0

    await wait_until(some_applied, interval=0.01, timeout=60, message="the consumer to get going")
    first.stop()  # SIGTERM: finish the event in hand, commit, leave the group
    assert first.exit_code == 0
    assert int(await scalar(orders_db, "SELECT count(*) FROM inbox_messages") or 0) < total

    second = start_service("orders", "consumer", database_url=orders_db)

    async def all_applied() -> bool:
        return await scalar(orders_db, "SELECT count(*) FROM catalog_products") == total

    await wait_until(all_applied, timeout=90, message="every event applied")
    assert "duplicate event ignored" not in second.logs()  # nothing was delivered twice
    for line in (first.logs() + second.logs()).splitlines():
        entry = json.loads(line)  # every log line is one JSON object
        assert {"event", "level", "timestamp", "service"} <= set(entry)


async def test_a_service_whose_workers_die_stops_instead_of_serving_half_alive(
    make_database: Callable[[str], str], tmp_path: Path
) -> None:
    # No broker where the settings point: the consumer and relay cannot start.
    process = ServiceProcess(
        "orders",
        "run",
        database_url=migrated_database(make_database, orders.main.SERVICE),
        bootstrap_servers=f"127.0.0.1:{free_port()}",
        log_path=tmp_path / "orders.log",
        env={"ORDERS_HTTP_PORT": str(free_port())},
    ).start()
    try:
        await wait_until(
            lambda: _exited(process), timeout=30, message="the process to stop by itself"
        )
    finally:
        process.kill()
    assert process.exit_code != 0
    assert "workers stopped unexpectedly" in process.logs()


async def _exited(process: ServiceProcess) -> bool:
    return process.exit_code is not None
