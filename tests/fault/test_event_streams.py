"""Every consumer (catalog, orders, billing, integrations: each service with handlers) fed a
duplicated and reordered stream, and poison on every topic it consumes, on the real broker with
the consumers as processes.

- Duplicates (the same event id again) change nothing; versioned projections end in the newest
  version whatever the order; where order matters (a subscription's ``created`` overtaken by
  its ``activated``) the stale event is dropped and the work it would have done is picked up by
  the next billing run.
- Poison (bytes that are no JSON, JSON that is no CloudEvent, a CloudEvent of a known type with
  data of the wrong shape) goes to ``<topic>.dlq`` once per consumer group, with nothing else
  there; an event of a type nobody knows is ignored, not dead-lettered; the consumers go on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

import billing.main
import catalog.main
import integrations.main
import orders.main
from vitrina_contracts.envelope import CloudEvent, build_envelope
from vitrina_contracts.events.catalog import ProductPublished, ProductRevised
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_contracts.events.orders import SubscriptionActivated, SubscriptionCreated
from vitrina_contracts.registry import topic as registered_topic
from vitrina_kit import kafka
from vitrina_kit.consumer import DLQ_HEADER_PREFIX
from vitrina_kit.service import Service
from vitrina_kit.testing import ServiceProcess, migrated_database, read_topics, wait_until
from vitrina_kit.testing.database import scalar

from .ordering import RETRY_STAGES, MakeDatabase, publish, rows, world_events

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CONSUMERS: dict[str, Service] = {
    "catalog": catalog.main.SERVICE,
    "orders": orders.main.SERVICE,
    "billing": billing.main.SERVICE,
    "integrations": integrations.main.SERVICE,
}


def _start_consumers(
    make_database: MakeDatabase, start_service: Callable[..., ServiceProcess], *names: str
) -> dict[str, str]:
    databases = {}
    for name in names:
        databases[name] = migrated_database(make_database, CONSUMERS[name])
        start_service(
            name,
            "consumer",
            database_url=databases[name],
            env={name.upper() + "_CONSUMER_RETRY_STAGES": RETRY_STAGES},
        )
    return databases


def _topics_of(service: Service) -> list[str]:
    return sorted({cls.topic for cls in service.handlers})


async def _inbox(database_url: str) -> int:
    return int(await scalar(database_url, "SELECT count(*) FROM inbox_messages") or 0)


# -- duplicated and reordered ---------------------------------------------------------------------


def _organization(organization_id: uuid.UUID, version: int) -> CloudEvent:
    snapshot = OrganizationUpdated.example().organization.model_copy(
        update={
            "organization_id": organization_id,
            "kind": "partner",  # the catalog keeps sellers only
            "legal_name": f"ООО «Версия {version}»",
            "version": version,
        }
    )
    return build_envelope(
        OrganizationUpdated(organization=snapshot),
        source="/vitrina/identity",
        subject=str(organization_id),
        aggregate_version=version,
    )


def _product(product_id: uuid.UUID, version: int) -> CloudEvent:
    product = ProductPublished.example().product.model_copy(
        update={"product_id": product_id, "name": f"Продукт, версия {version}", "version": version}
    )
    event = (ProductPublished if version == 1 else ProductRevised)(product=product)
    return build_envelope(
        event, source="/vitrina/catalog", subject=str(product_id), aggregate_version=version
    )


def _subscription(subscription_id: uuid.UUID, customer_id: uuid.UUID, version: int) -> CloudEvent:
    from .ordering import PLAN_ID, PRODUCT_ID

    now = datetime.now(UTC)
    snapshot = SubscriptionCreated.example().subscription.model_copy(
        update={
            "subscription_id": subscription_id,
            "customer_id": customer_id,
            "product_id": PRODUCT_ID,
            "plan_id": PLAN_ID,
            "quantity": 3,
            "period_anchor": now.date(),
            "status": "pending" if version == 1 else "active",
            "effective_at": now,
        }
    )
    event = (SubscriptionCreated if version == 1 else SubscriptionActivated)(subscription=snapshot)
    return build_envelope(
        event, source="/vitrina/orders", subject=str(subscription_id), aggregate_version=version
    )


def _shuffled(versions: list[CloudEvent]) -> list[CloudEvent]:
    """Newest first, then the older ones, then every one of them again (same event ids)."""
    return [*reversed(versions), *versions]


async def test_duplicated_and_reordered_streams_apply_once_and_end_in_the_newest_state(
    make_database: MakeDatabase,
    start_service: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
) -> None:
    await kafka.ensure_topics(kafka_bootstrap, retry_stages=RETRY_STAGES.split(","))
    databases = _start_consumers(make_database, start_service, *CONSUMERS)
    # The product and buyers billing needs to invoice (from ordering's fixed world).
    world = world_events()
    await publish(kafka_bootstrap, world)
    customer = uuid.UUID(world[0].subject)

    in_order, reordered = uuid.uuid4(), uuid.uuid4()
    organizations = {o: [_organization(o, v) for v in (1, 2, 3)] for o in (in_order, reordered)}
    products = {p: [_product(p, v) for v in (1, 2, 3)] for p in (in_order, reordered)}
    subscriptions = {
        s: [_subscription(s, customer, v) for v in (1, 2)] for s in (in_order, reordered)
    }
    for stream in (organizations, products, subscriptions):
        await publish(kafka_bootstrap, [*stream[in_order], *stream[in_order]])  # in order, twice
        await publish(kafka_bootstrap, _shuffled(stream[reordered]))

    def distinct(*streams: dict[uuid.UUID, list[CloudEvent]]) -> int:
        return len({e.id for stream in streams for events in stream.values() for e in events})

    expected_inbox = {
        "catalog": distinct(organizations) + len(world) - 1,  # catalog ignores products
        "orders": distinct(organizations, products) + len(world),
        "billing": distinct(organizations, products, subscriptions) + len(world),
        "integrations": distinct(organizations, subscriptions) + len(world) - 1,
    }

    async def all_consumed() -> bool:
        counts = {name: await _inbox(url) for name, url in databases.items()}
        return all(counts[name] >= expected_inbox[name] for name in counts)

    await wait_until(all_consumed, timeout=180, interval=0.3, message="every event consumed")
    await asyncio.sleep(1.5)  # a duplicate applied late would show now
    for name, url in databases.items():
        assert await _inbox(url) == expected_inbox[name], f"{name}: an event applied twice"

    organization_table = {"catalog": "sellers"}
    for name, url in databases.items():
        table = organization_table.get(name, "organizations")
        found = await rows(
            url,
            f"SELECT organization_id, legal_name, version FROM {table}"
            " WHERE organization_id = ANY(:ids)",
            ids=[in_order, reordered],
        )
        assert sorted((r[1], r[2]) for r in found) == [("ООО «Версия 3»", 3)] * 2, name
    for name in ("orders", "billing"):
        found = await rows(
            databases[name],
            "SELECT name, version FROM catalog_products WHERE product_id = ANY(:ids)",
            ids=[in_order, reordered],
        )
        assert sorted((r[0], r[1]) for r in found) == [("Продукт, версия 3", 3)] * 2, name

    # Subscriptions: the newest state in billing either way ...
    found = await rows(
        databases["billing"],
        "SELECT subscription_id, status, version FROM subscriptions"
        " WHERE subscription_id = ANY(:i)",
        i=[in_order, reordered],
    )
    assert sorted((r[1], r[2]) for r in found) == [("active", 2)] * 2
    # ... but the first invoice is the created event's work: in order it is issued once; when
    # the activation overtook it, the stale created event is dropped with its work.
    billed = {
        r[0]: r[1]
        for r in await rows(
            databases["billing"],
            "SELECT subscription_id, count(*) FROM billed_periods GROUP BY subscription_id",
        )
    }
    assert billed.get(in_order) == 1
    assert billed.get(reordered) is None
    # The next billing run issues the first invoices still missing: nothing is lost.
    start_service(
        "billing",
        "relay",
        database_url=databases["billing"],
        env={"BILLING_RUN_INTERVAL_SECONDS": "3600"},
    )

    async def first_invoice() -> bool:
        count = await scalar(
            databases["billing"],
            "SELECT count(*) FROM billed_periods WHERE subscription_id = :s",
            s=reordered,
        )
        return bool(count == 1)

    await wait_until(first_invoice, timeout=120, message="the billing run to invoice it")
    assert await scalar(databases["billing"], "SELECT count(*) FROM billed_periods") == 2, (
        "a subscription billed twice"
    )


# -- poison ---------------------------------------------------------------------------------------


def _poison(topic: str, service: Service) -> tuple[list[bytes], bytes]:
    """The poison for ``topic``: what must be dead-lettered, and an event of an unknown type
    (to be ignored)."""
    known = next(cls for cls in service.handlers if cls.topic == topic)
    now = datetime.now(UTC)
    wrong_shape = CloudEvent(
        id=uuid.uuid4(),
        type=known.event_type,
        source="/vitrina/somebody",
        time=now,
        subject=str(uuid.uuid4()),
        aggregateversion=1,
        data={"unexpected": True},
    )
    unknown = wrong_shape.model_copy(
        update={"id": uuid.uuid4(), "type": "ru.vitrina.nobody.thing.happened"}
    )
    return (
        [
            b"\xff\xfe\x00 not json at all " + uuid.uuid4().bytes,
            b'{"hello": "world", "poison": "%s"}' % uuid.uuid4().hex.encode(),
            wrong_shape.to_json_bytes(),
        ],
        unknown.to_json_bytes(),
    )


async def test_poison_on_every_consumed_topic_is_dead_lettered_and_nothing_else(
    make_database: MakeDatabase,
    start_service: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
) -> None:
    await kafka.ensure_topics(kafka_bootstrap, retry_stages=RETRY_STAGES.split(","))
    databases = _start_consumers(make_database, start_service, *CONSUMERS)
    consumed_by = {name: _topics_of(service) for name, service in CONSUMERS.items()}
    topics = sorted({t for names in consumed_by.values() for t in names})
    poison: dict[str, list[bytes]] = {}
    for topic in topics:
        owner = next(s for s in CONSUMERS.values() if topic in _topics_of(s))
        letters, unknown = _poison(topic, owner)
        poison[topic] = letters
        # One key: one partition, so what follows the poison has to get past it.
        for value in [*letters, unknown]:
            await publish_raw(kafka_bootstrap, topic, value)

    # After the poison, a good event on the busiest topic: every consumer goes on to it.
    good = _organization(uuid.uuid4(), 1)
    await publish_raw(kafka_bootstrap, "identity.organizations", good.to_json_bytes())

    async def applied_everywhere() -> bool:
        for url in databases.values():
            found = await scalar(
                url, "SELECT count(*) FROM inbox_messages WHERE event_id = :e", e=str(good.id)
            )
            if found != 1:
                return False
        return True

    await wait_until(applied_everywhere, timeout=180, interval=0.3, message="the good event")
    expected = Counter(
        (topic, group, value)
        for group, names in consumed_by.items()
        for topic in names
        for value in poison[topic]
    )

    async def all_dead_lettered() -> bool:
        letters = await _dead_letters(kafka_bootstrap, topics)
        return sum(letters.values()) >= sum(expected.values())

    await wait_until(all_dead_lettered, timeout=60, interval=0.5, message="the dead letters")
    await asyncio.sleep(1)
    written = await _dead_letters(kafka_bootstrap, topics)
    assert written == expected, {
        "missing": expected - written,
        "unexpected": written - expected,
    }
    for name, url in databases.items():  # nothing of the poison reached a handler
        inbox = await rows(url, "SELECT event_type FROM inbox_messages")
        assert [row[0] for row in inbox] == [good.type], name


async def publish_raw(bootstrap: str, topic: str, value: bytes) -> None:
    from vitrina_kit.testing import send_raw

    await send_raw(bootstrap, topic, [value], key=b"poison")


async def _dead_letters(bootstrap: str, topics: list[str]) -> Counter[tuple[str, str, bytes]]:
    found = await read_topics(bootstrap, [registered_topic(t).dlq for t in topics], quiet=0.5)
    letters: Counter[tuple[str, str, bytes]] = Counter()
    for records in found.values():
        for record in records:
            headers = {k: v.decode() for k, v in record.headers}
            assert headers[DLQ_HEADER_PREFIX + "error"], "a dead letter says what went wrong"
            assert DLQ_HEADER_PREFIX + "offset" in headers
            letters[
                (
                    headers[DLQ_HEADER_PREFIX + "topic"],
                    headers[DLQ_HEADER_PREFIX + "consumer-group"],
                    record.value or b"",
                )
            ] += 1
    return letters
