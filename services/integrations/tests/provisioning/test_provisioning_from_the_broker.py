"""Subscription changes from orders reach a running integrations worker through the real
broker; the partner's real server is called, signed; its acknowledgement becomes
``provisioning.succeeded`` and its failure, after the retry schedule, ``provisioning.failed`` —
both published to Kafka and valid against the contract. A redelivered event provisions once."""

from __future__ import annotations

import json
import uuid
from typing import Any

from integrations.main import SERVICE
from integrations.settings import IntegrationsSettings
from vitrina_contracts.envelope import CloudEvent, build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.orders import SubscriptionActivated, SubscriptionSuspended
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, read_topic, send_raw, wait_until
from vitrina_kit.testing.database import query

from .conftest import Outbox, Partner  # type: ignore[import-not-found]


def from_orders(event: Event, *, version: int) -> CloudEvent:
    return build_envelope(
        event, source="/vitrina/orders", subject=event.aggregate_id(), aggregate_version=version
    )


async def publish(bootstrap: str, *sent: CloudEvent) -> None:
    for each in sent:
        await send_raw(
            bootstrap, "orders.subscriptions", [each.to_json_bytes()], key=each.subject.encode()
        )


async def consumed(database_url: str, *sent: CloudEvent) -> bool:
    ids = sorted({str(each.id) for each in sent})
    rows = await query(
        database_url, "SELECT count(*) FROM inbox_messages WHERE event_id = ANY(:ids)", ids=ids
    )
    return bool(rows[0][0] == len(ids))


async def test_provisioning_succeeds_and_fails_through_the_broker(
    database_url: str,
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
    partner: Partner,
    partner_id: uuid.UUID,
    partner_headers: dict[str, str],
    outbox: Outbox,
) -> None:
    settings = IntegrationsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=1000,
        kafka_fetch_max_wait_ms=50,
        webhook_allow_http=True,
        webhook_allowed_networks=["127.0.0.0/8"],
        webhook_retry_schedule="500ms,1s",
        webhook_dispatch_interval_seconds=0.1,
        webhook_timeout_seconds=2,
    )
    app = build_app(SERVICE, settings, with_workers=True, key_source=token_issuer.key_source)
    async with app_client(app) as client:
        registered = await client.post(
            "/webhooks/endpoints",
            json={"url": partner.url, "provisioning": True},
            headers={**partner_headers, "Idempotency-Key": "provisioning"},
        )
        assert registered.status_code == 201, registered.text
        partner.secret = registered.json()["signing_secret"]

        example = SubscriptionActivated.example()
        snapshot = example.subscription.model_copy(
            update={"subscription_id": uuid.uuid4(), "partner_id": partner_id}
        )
        activated = from_orders(SubscriptionActivated(subscription=snapshot), version=2)
        await publish(kafka_bootstrap, activated)

        async def succeeded() -> list[dict[str, Any]]:
            return await outbox.events(type_suffix="provisioning.succeeded")

        (success,) = await wait_until(succeeded, timeout=30, message="provisioning.succeeded")
        assert success["subject"] == str(snapshot.subscription_id)
        assert success["data"]["action"] == "activate"
        assert success["data"]["partner_id"] == str(partner_id)
        assert success["data"]["response"]["status_code"] == 200
        assert success["data"]["response"]["external_account_id"] == "acc-42"
        (call,) = partner.received
        assert call.verified
        assert call.message["type"] == "provisioning.activate"
        assert call.message["data"]["subscription"]["subscription_id"] == str(
            snapshot.subscription_id
        )

        # Redelivered, and re-sent under a new id with the same version: nothing more.
        resent = from_orders(SubscriptionActivated(subscription=snapshot), version=2)
        await publish(kafka_bootstrap, activated, resent)
        await wait_until(
            lambda: consumed(database_url, activated, resent), timeout=30, message="the copies"
        )

        # The partner is down: three attempts (500ms and 1s apart), then provisioning.failed.
        partner.mode = "fail"
        suspended_snapshot = snapshot.model_copy(update={"status": "suspended"})
        suspended = from_orders(
            SubscriptionSuspended(subscription=suspended_snapshot, reason="non_payment"),
            version=3,
        )
        await publish(kafka_bootstrap, suspended)

        async def failed() -> list[dict[str, Any]]:
            return await outbox.events(type_suffix="provisioning.failed")

        (failure,) = await wait_until(failed, timeout=30, message="provisioning.failed")
        assert failure["data"]["action"] == "suspend"
        assert failure["data"]["attempts"] == 3
        assert failure["data"]["response"]["status_code"] == 503
        assert "3 attempts" in failure["data"]["reason"]

        published = await read_topic(kafka_bootstrap, "integrations.provisioning", expected=2)
        types = sorted(json.loads(record.value)["type"] for record in published)
        assert types == [
            "ru.vitrina.integrations.provisioning.failed",
            "ru.vitrina.integrations.provisioning.succeeded",
        ]

    activations = [c for c in partner.received if c.message["type"] == "provisioning.activate"]
    assert len(activations) == 1
    suspensions = [c for c in partner.received if c.message["type"] == "provisioning.suspend"]
    assert len(suspensions) == 3
    assert all(c.verified for c in partner.received)
    assert len(await outbox.events(type_suffix="provisioning.succeeded")) == 1
