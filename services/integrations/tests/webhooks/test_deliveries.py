"""Webhook deliveries to a real partner server: signed and verified, retried on the schedule
(a test clock moves it), every attempt logged, redelivered on request, an endpoint failing for
too long disabled with its owner told; targets refused at registration and at delivery."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.settings import IntegrationsSettings
from integrations.webhooks import service
from integrations.webhooks.dispatcher import DispatchRules, dispatch_due
from integrations.webhooks.signing import signature_header
from integrations.webhooks.targets import IPAddress
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.orders import SubscriptionCreated
from vitrina_kit.db import transaction

from .conftest import Partner  # type: ignore[import-not-found]


async def register(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    url: str,
    *,
    event_types: Sequence[str] = ("subscription.created",),
    provisioning: bool = False,
) -> httpx.Response:
    return await client.post(
        "/webhooks/endpoints",
        json={"url": url, "event_types": list(event_types), "provisioning": provisioning},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )


async def subscription_created(
    sessions: async_sessionmaker[AsyncSession], *, customer_id: uuid.UUID
) -> str:
    """orders' event as the consumer hands it over; returns the event id."""
    example = SubscriptionCreated.example()
    event = example.model_copy(
        update={
            "subscription": example.subscription.model_copy(
                update={"subscription_id": uuid.uuid4(), "customer_id": customer_id}
            )
        }
    )
    envelope = build_envelope(
        event, source="/vitrina/orders", subject=event.aggregate_id(), aggregate_version=1
    )
    async with transaction(sessions) as session:
        await service.fan_out(session, event, envelope)
    return str(envelope.id)


async def deliveries(
    client: httpx.AsyncClient, headers: dict[str, str], endpoint_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"/webhooks/endpoints/{endpoint_id}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def detail(
    client: httpx.AsyncClient, headers: dict[str, str], delivery_id: str
) -> dict[str, Any]:
    response = await client.get(f"/webhooks/deliveries/{delivery_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def webhook_metrics() -> dict[str, float]:
    """The process's webhook metrics: attempts by outcome, attempts timed, endpoints disabled."""

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return {
        **{
            outcome: value("vitrina_webhook_deliveries_total", outcome=outcome)
            for outcome in ("delivered", "failed_attempt", "gave_up")
        },
        "timed": value("vitrina_webhook_delivery_duration_seconds_count"),
        "disabled": value("vitrina_webhook_endpoints_disabled_total"),
    }


class DeliveryMetrics:
    """How far the webhook metrics moved since this was made."""

    def __init__(self) -> None:
        self.start = webhook_metrics()

    def moved(self) -> dict[str, float]:
        return {name: value - self.start[name] for name, value in webhook_metrics().items()}


def moved_by(
    *, delivered: int = 0, failed_attempt: int = 0, gave_up: int = 0, disabled: int = 0
) -> dict[str, float]:
    return {
        "delivered": delivered,
        "failed_attempt": failed_attempt,
        "gave_up": gave_up,
        "timed": delivered + failed_attempt + gave_up,
        "disabled": disabled,
    }


async def test_a_delivery_is_signed_and_the_partner_verifies_it(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
) -> None:
    created = await register(client, business, partner.url)
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["signing_secret"].startswith("whsec_")
    partner.secret = endpoint["signing_secret"]
    shown_again = await client.get(
        f"/webhooks/endpoints/{endpoint['endpoint_id']}", headers=business
    )
    assert "signing_secret" not in shown_again.json()  # shown once

    event_id = await subscription_created(sessions, customer_id=business_id)
    metrics = DeliveryMetrics()
    assert await dispatch_due(sessions, DispatchRules.of(settings)) == 1
    assert metrics.moved() == moved_by(delivered=1)

    (received,) = partner.received
    assert received.verified
    assert received.headers["vitrina-event-id"] == event_id
    assert received.message["type"] == "subscription.created"
    assert received.message["data"]["subscription"]["customer_id"] == str(business_id)
    (delivery,) = await deliveries(client, business, endpoint["endpoint_id"])
    assert delivery["status"] == "delivered"
    logged = await detail(client, business, delivery["delivery_id"])
    (attempt,) = logged["attempt_log"]
    assert attempt["status_code"] == 200
    assert attempt["latency_ms"] >= 0
    assert "acc-42" in attempt["response_body"]
    # Nothing more is due: a delivered message is not sent again by itself.
    assert await dispatch_due(sessions, DispatchRules.of(settings)) == 0


async def test_the_partner_refuses_a_forged_or_stale_request(partner: Partner) -> None:
    partner.secret = "whsec_the-real-one"
    body = b'{"id":"1","type":"subscription.created"}'
    async with httpx.AsyncClient() as http:
        forged = await http.post(
            partner.url,
            content=body,
            headers={"Vitrina-Signature": signature_header("guess", body)},
        )
        stale = await http.post(
            partner.url,
            content=body,
            headers={
                "Vitrina-Signature": signature_header(
                    partner.secret, body, timestamp=int(datetime.now(UTC).timestamp()) - 3600
                )
            },
        )
        genuine = await http.post(
            partner.url,
            content=body,
            headers={"Vitrina-Signature": signature_header(partner.secret, body)},
        )
    assert (forged.status_code, stale.status_code, genuine.status_code) == (400, 400, 200)


async def test_failures_are_retried_on_the_schedule_logged_and_redeliverable(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
) -> None:
    endpoint = (await register(client, business, partner.url)).json()
    partner.secret, partner.mode = endpoint["signing_secret"], "fail"
    await subscription_created(sessions, customer_id=business_id)
    rules = DispatchRules.of(settings)  # 1m, 5m, 30m: four attempts
    start = datetime.now(UTC)
    metrics = DeliveryMetrics()

    assert await dispatch_due(sessions, rules, now=start) == 1
    (delivery,) = await deliveries(client, business, endpoint["endpoint_id"])
    assert delivery["status"] == "pending"
    assert datetime.fromisoformat(delivery["next_attempt_at"]) == start + timedelta(minutes=1)
    # Not due yet half a minute later; due at each step of the schedule.
    assert await dispatch_due(sessions, rules, now=start + timedelta(seconds=30)) == 0
    second = start + timedelta(minutes=1)
    assert await dispatch_due(sessions, rules, now=second) == 1
    third = second + timedelta(minutes=5)
    assert await dispatch_due(sessions, rules, now=third - timedelta(seconds=1)) == 0
    assert await dispatch_due(sessions, rules, now=third) == 1
    assert await dispatch_due(sessions, rules, now=third + timedelta(minutes=30)) == 1
    assert await dispatch_due(sessions, rules, now=third + timedelta(days=1)) == 0
    assert metrics.moved() == moved_by(failed_attempt=3, gave_up=1)

    logged = await detail(client, business, delivery["delivery_id"])
    assert logged["status"] == "failed"
    assert [a["status_code"] for a in logged["attempt_log"]] == [503, 503, 503, 503]
    assert [a["error"] for a in logged["attempt_log"]] == ["HTTP 503"] * 4
    assert len(partner.verified) == 4  # each attempt signed afresh, each verified

    partner.mode = "ok"
    redelivered = await client.post(
        f"/webhooks/deliveries/{delivery['delivery_id']}/redeliver", headers=business
    )
    assert redelivered.status_code == 200, redelivered.text
    assert redelivered.json()["status"] == "pending"
    again = await client.post(
        f"/webhooks/deliveries/{delivery['delivery_id']}/redeliver", headers=business
    )
    assert again.status_code == 409  # still pending: one redelivery at a time
    assert await dispatch_due(sessions, rules) == 1
    assert metrics.moved() == moved_by(delivered=1, failed_attempt=3, gave_up=1)
    logged = await detail(client, business, delivery["delivery_id"])
    assert logged["status"] == "delivered"
    assert [a["status_code"] for a in logged["attempt_log"]] == [503, 503, 503, 503, 200]
    # The same message each time: the partner deduplicates by its id.
    assert len({each.message["id"] for each in partner.received}) == 1


async def test_a_slow_partner_times_out_and_the_attempt_says_so(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
) -> None:
    endpoint = (await register(client, business, partner.url)).json()
    partner.secret, partner.mode = endpoint["signing_secret"], "slow"
    await subscription_created(sessions, customer_id=business_id)

    assert await dispatch_due(sessions, DispatchRules.of(settings)) == 1

    (delivery,) = await deliveries(client, business, endpoint["endpoint_id"])
    (attempt,) = (await detail(client, business, delivery["delivery_id"]))["attempt_log"]
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("no answer within 1.0s")
    assert 900 <= attempt["latency_ms"] < 3000


async def test_an_endpoint_that_keeps_failing_is_disabled_and_its_owner_told(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
) -> None:
    endpoint = (await register(client, business, partner.url)).json()
    partner.secret, partner.mode = endpoint["signing_secret"], "fail"
    for _ in range(2):
        await subscription_created(sessions, customer_id=business_id)
    rules = DispatchRules.of(settings.model_copy(update={"webhook_disable_after_failures": 3}))
    start = datetime.now(UTC)
    metrics = DeliveryMetrics()

    assert await dispatch_due(sessions, rules, now=start) == 2
    assert await dispatch_due(sessions, rules, now=start + timedelta(minutes=1)) == 2
    # The third failure disabled the endpoint (counted once); the fourth found it disabled.
    assert metrics.moved() == moved_by(failed_attempt=4, disabled=1)

    shown = (
        await client.get(f"/webhooks/endpoints/{endpoint['endpoint_id']}", headers=business)
    ).json()
    assert shown["status"] == "disabled"
    assert shown["disabled_reason"] == "3 consecutive failed deliveries"
    assert {d["status"] for d in await deliveries(client, business, endpoint["endpoint_id"])} == {
        "failed"
    }
    (notice,) = (await client.get("/webhooks/notifications", headers=business)).json()
    assert notice["kind"] == "endpoint_disabled"
    assert notice["endpoint_id"] == endpoint["endpoint_id"]
    assert await dispatch_due(sessions, rules, now=start + timedelta(days=1)) == 0

    some = (await deliveries(client, business, endpoint["endpoint_id"]))[0]
    refused = await client.post(
        f"/webhooks/deliveries/{some['delivery_id']}/redeliver", headers=business
    )
    assert refused.status_code == 409
    partner.mode = "ok"
    enabled = await client.post(
        f"/webhooks/endpoints/{endpoint['endpoint_id']}/enable", headers=business
    )
    assert enabled.json()["status"] == "active"
    assert enabled.json()["consecutive_failures"] == 0
    redelivered = await client.post(
        f"/webhooks/deliveries/{some['delivery_id']}/redeliver", headers=business
    )
    assert redelivered.status_code == 200
    assert await dispatch_due(sessions, rules) == 1
    assert metrics.moved() == moved_by(delivered=1, failed_attempt=4, disabled=1)


async def test_failing_for_hours_disables_too(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
) -> None:
    endpoint = (await register(client, business, partner.url)).json()
    partner.secret, partner.mode = endpoint["signing_secret"], "fail"
    await subscription_created(sessions, customer_id=business_id)
    rules = DispatchRules.of(settings.model_copy(update={"webhook_disable_after_hours": 0.5}))
    start = datetime.now(UTC)

    await dispatch_due(sessions, rules, now=start)
    await dispatch_due(sessions, rules, now=start + timedelta(minutes=1))
    await dispatch_due(sessions, rules, now=start + timedelta(minutes=6))
    assert await dispatch_due(sessions, rules, now=start + timedelta(minutes=36)) == 1

    shown = (
        await client.get(f"/webhooks/endpoints/{endpoint['endpoint_id']}", headers=business)
    ).json()
    assert shown["status"] == "disabled"
    assert shown["disabled_reason"].startswith("failing for 1 hours") or shown[
        "disabled_reason"
    ].startswith("failing for 0 hours")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("https://10.0.0.1/hooks", "10.0.0.1"),
        ("https://[fd00::1]/hooks", "fd00::1"),
        ("https://[::ffff:10.0.0.1]/hooks", "::ffff:a00:1"),
        ("https://127.0.0.1/hooks", "127.0.0.1"),
        ("https://localhost/hooks", "127.0.0.1"),
        ("http://93.184.215.14/hooks", "https"),
        ("https://user:pass@93.184.215.14/hooks", "Credentials"),
    ],
)
async def test_internal_targets_are_refused_without_an_allow_list(
    database_url: str,
    token_issuer: Any,
    business: dict[str, str],
    url: str,
    reason: str,
) -> None:
    from integrations.main import SERVICE
    from vitrina_kit.service import build_app
    from vitrina_kit.testing import app_client

    production = IntegrationsSettings(database_url=database_url)  # https only, no allow-list
    app = build_app(SERVICE, production, key_source=token_issuer.key_source)
    async with app_client(app) as client:
        refused = await register(client, business, url)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "webhook_target_refused"
    assert reason in refused.json()["detail"]


async def test_the_target_is_checked_again_at_delivery_time(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
) -> None:
    """The host resolved to an allowed address when registered; by delivery time its DNS
    answers a private one (rebinding): nothing is sent, the attempt says why."""
    endpoint = await register(client, business, partner.url.replace("127.0.0.1", "localhost"))
    assert endpoint.status_code == 201, endpoint.text
    partner.secret = endpoint.json()["signing_secret"]
    await subscription_created(sessions, customer_id=business_id)

    async def rebound(host: str, port: int) -> Sequence[IPAddress]:
        import ipaddress

        return [ipaddress.ip_address("10.0.0.1")]

    assert await dispatch_due(sessions, DispatchRules.of(settings), resolver=rebound) == 1
    assert partner.received == []
    (delivery,) = await deliveries(client, business, endpoint.json()["endpoint_id"])
    (attempt,) = (await detail(client, business, delivery["delivery_id"]))["attempt_log"]
    assert attempt["error"].startswith("target refused")
    assert "10.0.0.1" in attempt["error"]


async def test_endpoints_and_deliveries_of_others_are_not_found(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
    stranger: dict[str, str],
) -> None:
    endpoint = (await register(client, business, partner.url)).json()
    await subscription_created(sessions, customer_id=business_id)
    (delivery,) = await deliveries(client, business, endpoint["endpoint_id"])

    paths = [
        ("GET", f"/webhooks/endpoints/{endpoint['endpoint_id']}"),
        ("GET", f"/webhooks/endpoints/{endpoint['endpoint_id']}/deliveries"),
        ("POST", f"/webhooks/endpoints/{endpoint['endpoint_id']}/disable"),
        ("GET", f"/webhooks/deliveries/{delivery['delivery_id']}"),
        ("POST", f"/webhooks/deliveries/{delivery['delivery_id']}/redeliver"),
    ]
    for method, path in paths:
        response = await client.request(method, path, headers=stranger)
        assert response.status_code == 404, (path, response.text)
    listed = await client.get("/webhooks/endpoints", headers=stranger)
    assert listed.json()["items"] == []


async def test_only_a_partner_takes_provisioning_calls_and_at_one_endpoint(
    client: httpx.AsyncClient,
    partner: Partner,
    business: dict[str, str],
    partner_headers: dict[str, str],
) -> None:
    by_business = await register(client, business, partner.url, provisioning=True)
    assert by_business.status_code == 422
    first = await register(client, partner_headers, partner.url, provisioning=True)
    assert first.status_code == 201, first.text
    second = await register(client, partner_headers, partner.url, provisioning=True)
    assert second.status_code == 409
    unknown = await register(client, partner_headers, partner.url, event_types=["order.placed"])
    assert unknown.status_code == 422
