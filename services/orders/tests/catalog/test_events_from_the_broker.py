"""Both projections fed through the real broker: identity's and the catalog's events, in the
envelopes their owners publish, reach a running orders consumer and fill orders' copies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orders.main import SERVICE
from orders.settings import OrdersSettings
from vitrina_contracts.envelope import CloudEvent, build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.catalog import (
    PlanPriceScheduled,
    ProductPublished,
    ProductRetired,
)
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationUpdated
from vitrina_contracts.registry import event_class
from vitrina_kit.service import build_app
from vitrina_kit.testing import app_client, send_raw, wait_until
from vitrina_kit.testing.database import query


def envelope(event: Event, *, owner: str, subject: uuid.UUID, version: int) -> CloudEvent:
    return build_envelope(
        event, source=f"/vitrina/{owner}", subject=str(subject), aggregate_version=version
    )


async def publish(bootstrap: str, envelopes: list[CloudEvent]) -> None:
    """To the event's topic, keyed by its aggregate, as its owner's outbox relay does."""
    for sent in envelopes:
        event = event_class(sent.type)
        assert event is not None
        await send_raw(bootstrap, event.topic, [sent.to_json_bytes()], key=sent.subject.encode())


async def consumed(database_url: str, envelopes: list[CloudEvent]) -> bool:
    """Whether orders' inbox holds every one of ``envelopes`` (so each was applied or ignored)."""
    ids = sorted({str(sent.id) for sent in envelopes})
    rows = await query(
        database_url, "SELECT count(*) FROM inbox_messages WHERE event_id = ANY(:ids)", ids=ids
    )
    return bool(rows[0][0] == len(ids))


async def test_organizations_and_the_catalog_arrive_through_the_broker(
    database_url: str, kafka_bootstrap: str
) -> None:
    organization_id, product_id = uuid.uuid4(), uuid.uuid4()
    registered = OrganizationRegistered.example().organization.model_copy(
        update={"organization_id": organization_id}
    )
    approved = OrganizationUpdated.example().organization.model_copy(
        update={"organization_id": organization_id}
    )
    example = ProductPublished.example().product
    product = example.model_copy(update={"product_id": product_id})
    plan_id = product.plans[0].plan_id
    effective_on = datetime.now(UTC).date() + timedelta(days=40)
    price = PlanPriceScheduled(
        product_id=product_id,
        plan_id=plan_id,
        product_version=2,
        unit_price=Decimal("490.00"),
        effective_on=effective_on,
    )
    retired = product.model_copy(
        update={
            "status": "retired",
            "version": 3,
            "plans": (
                product.plans[0].model_copy(
                    update={
                        "next_unit_price": Decimal("490.00"),
                        "next_price_effective_on": effective_on,
                    }
                ),
                *product.plans[1:],
            ),
        }
    )
    price_envelope = envelope(price, owner="catalog", subject=product_id, version=2)
    sent = [
        envelope(
            OrganizationRegistered(organization=registered),
            owner="identity",
            subject=organization_id,
            version=1,
        ),
        envelope(
            OrganizationUpdated(organization=approved),
            owner="identity",
            subject=organization_id,
            version=3,
        ),
        # An older state published again (after the approval, on the same partition): ignored.
        envelope(
            OrganizationUpdated(organization=registered),
            owner="identity",
            subject=organization_id,
            version=2,
        ),
        envelope(ProductPublished(product=product), owner="catalog", subject=product_id, version=1),
        price_envelope,
        price_envelope,  # redelivered: the inbox makes it a no-op
        envelope(ProductRetired(product=retired), owner="catalog", subject=product_id, version=3),
    ]
    settings = OrdersSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=1000,
    )

    async with app_client(build_app(SERVICE, settings, with_workers=True)):
        await publish(kafka_bootstrap, sent)
        await wait_until(
            lambda: consumed(database_url, sent), timeout=30, message="orders to consume them all"
        )

    [organization] = await query(
        database_url,
        "SELECT status, edo_participant_id, version FROM organizations WHERE organization_id = :id",
        id=organization_id,
    )
    assert tuple(organization) == ("active", approved.edo_participant_id, 3)
    [plan] = await query(
        database_url,
        "SELECT p.status, l.unit_price, l.next_unit_price, l.next_price_effective_on,"
        " l.price_version FROM catalog_plans l JOIN catalog_products p USING (product_id)"
        " WHERE l.plan_id = :id",
        id=plan_id,
    )
    assert tuple(plan) == (
        "retired",
        product.plans[0].unit_price,
        Decimal("490.00"),
        effective_on,
        3,
    )
