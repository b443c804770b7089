"""Editing, deleting and rotating the signing secret of a webhook endpoint, against a real
partner server: a rotation signs with both secrets for the grace period (either verifies), then
with the new one only; a deleted endpoint is sent nothing more; bad input changes nothing; only
the owner (and, except for its secret, the operator) may touch an endpoint."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.settings import IntegrationsSettings
from integrations.webhooks import service
from integrations.webhooks.dispatcher import DispatchRules, dispatch_due
from integrations.webhooks.models import WebhookEndpoint
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.billing import PaymentAllocated
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.db import transaction
from vitrina_kit.testing import TestIssuer

from .conftest import Partner  # type: ignore[import-not-found]
from .test_deliveries import (  # type: ignore[import-not-found]
    deliveries,
    detail,
    register,
    subscription_created,
)


@pytest.fixture
def operator(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR)


async def registered(
    client: httpx.AsyncClient, headers: dict[str, str], partner: Partner, **kwargs: Any
) -> dict[str, Any]:
    created = await register(client, headers, partner.url, **kwargs)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    partner.secret = body["signing_secret"]
    return body


async def rotate(
    client: httpx.AsyncClient, headers: dict[str, str], endpoint_id: str, *, key: str = ""
) -> httpx.Response:
    return await client.post(
        f"/webhooks/endpoints/{endpoint_id}/rotate-secret",
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


def v1_count(header: str) -> int:
    return sum(1 for item in header.split(",") if item.startswith("v1="))


async def test_an_endpoint_is_edited_and_bad_input_changes_nothing(
    client: httpx.AsyncClient,
    partner: Partner,
    business: dict[str, str],
    stranger: dict[str, str],
    operator: dict[str, str],
) -> None:
    endpoint = await registered(client, business, partner)
    path = f"/webhooks/endpoints/{endpoint['endpoint_id']}"
    moved = partner.url.replace("127.0.0.1", "localhost")
    changed = await client.patch(
        path,
        json={
            "url": moved,
            "description": "ERP, production",
            "event_types": ["invoice.issued", "payment.allocated", "invoice.issued"],
        },
        headers=business,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["url"] == moved
    assert changed.json()["event_types"] == ["invoice.issued", "payment.allocated"]
    assert "signing_secret" not in changed.json()

    refused = [
        ({"url": "http://10.0.0.5/hooks"}, "webhook_target_refused"),  # private address
        ({"url": "http://169.254.169.254/latest"}, "webhook_target_refused"),  # link-local
        ({"url": "ftp://127.0.0.1/hooks"}, "webhook_target_refused"),
        ({"url": None}, "invalid_request"),
        ({"url": ""}, "invalid_request"),
        ({"event_types": ["order.placed"]}, "invalid_request"),
        ({"description": "x" * 201}, "invalid_request"),
        ({"provisioning": True}, "invalid_request"),  # not changed by an edit
        ({"description": "fine", "url": "http://10.0.0.5/"}, "webhook_target_refused"),
    ]
    for body, code in refused:
        response = await client.patch(path, json=body, headers=business)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code, body
    unchanged = (await client.get(path, headers=business)).json()
    assert unchanged == changed.json()

    by_stranger = await client.patch(path, json={"description": "x"}, headers=stranger)
    assert by_stranger.status_code == 404
    by_operator = await client.patch(path, json={"description": "checked"}, headers=operator)
    assert by_operator.status_code == 200, by_operator.text
    missing = await client.patch(f"/webhooks/endpoints/{uuid.uuid4()}", json={}, headers=business)
    assert missing.status_code == 404


async def test_a_https_only_production_refuses_an_edit_to_http(
    database_url: str, token_issuer: TestIssuer, business: dict[str, str], business_id: uuid.UUID
) -> None:
    from integrations.main import SERVICE
    from vitrina_kit.service import build_app
    from vitrina_kit.testing import app_client

    production = IntegrationsSettings(database_url=database_url)  # https only, no allow-list
    app = build_app(SERVICE, production, key_source=token_issuer.key_source)
    async with app_client(app) as client:
        created = await register(client, business, "https://93.184.215.14/hooks")
        assert created.status_code == 201, created.text
        path = f"/webhooks/endpoints/{created.json()['endpoint_id']}"
        for url in ("http://93.184.215.14/hooks", "https://127.0.0.1/hooks"):
            refused = await client.patch(path, json={"url": url}, headers=business)
            assert refused.status_code == 422, refused.text
            assert refused.json()["code"] == "webhook_target_refused"
        assert (await client.get(path, headers=business)).json()["url"] == (
            "https://93.184.215.14/hooks"
        )


async def test_a_rotated_secret_signs_next_to_the_old_one_until_the_grace_period_ends(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
) -> None:
    endpoint = await registered(client, business, partner)
    old_secret = partner.secret
    before = datetime.now(UTC)
    rotated = await rotate(client, business, endpoint["endpoint_id"], key="rotation-1")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["signing_secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != old_secret
    expires = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
    assert before + timedelta(hours=24) <= expires <= datetime.now(UTC) + timedelta(hours=24)
    # A retry of the same request (its answer lost) gets the same secret, not a third one.
    again = await rotate(client, business, endpoint["endpoint_id"], key="rotation-1")
    assert again.json()["signing_secret"] == new_secret
    shown = await client.get(f"/webhooks/endpoints/{endpoint['endpoint_id']}", headers=business)
    assert "signing_secret" not in shown.json()  # shown once
    assert shown.json()["secret_rotated_at"] is not None

    # The partner has not switched yet: the old secret's v1 verifies.
    await subscription_created(sessions, customer_id=business_id)
    assert await dispatch_due(sessions, DispatchRules.of(settings)) == 1
    # It has switched: the new secret's v1 verifies.
    partner.secret = new_secret
    await subscription_created(sessions, customer_id=business_id)
    assert await dispatch_due(sessions, DispatchRules.of(settings)) == 1
    assert [each.verified for each in partner.received] == [True, True]
    assert all(v1_count(each.headers["vitrina-signature"]) == 2 for each in partner.received)

    # The grace period is over: only the new secret signs.
    async with transaction(sessions) as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.endpoint_id == uuid.UUID(endpoint["endpoint_id"]))
            .values(previous_secret_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await subscription_created(sessions, customer_id=business_id)
    assert await dispatch_due(sessions, DispatchRules.of(settings)) == 1
    assert partner.received[-1].verified
    assert v1_count(partner.received[-1].headers["vitrina-signature"]) == 1
    partner.secret = old_secret
    await subscription_created(sessions, customer_id=business_id)
    assert await dispatch_due(sessions, DispatchRules.of(settings)) == 1
    assert not partner.received[-1].verified  # the old secret is no longer honoured


async def test_only_the_owner_rotates_and_two_secrets_at_most_are_in_force(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
    stranger: dict[str, str],
    operator: dict[str, str],
) -> None:
    endpoint = await registered(client, business, partner)
    first = partner.secret
    assert (await rotate(client, stranger, endpoint["endpoint_id"])).status_code == 404
    by_operator = await rotate(client, operator, endpoint["endpoint_id"])
    assert by_operator.status_code == 403, by_operator.text
    assert by_operator.json()["code"] == "secret_is_the_owners"

    second = (await rotate(client, business, endpoint["endpoint_id"])).json()["signing_secret"]
    third = (await rotate(client, business, endpoint["endpoint_id"])).json()["signing_secret"]
    for secret, verifies in ((first, False), (second, True), (third, True)):
        partner.secret = secret
        await subscription_created(sessions, customer_id=business_id)
        assert await dispatch_due(sessions, DispatchRules.of(settings)) == 1
        assert partner.received[-1].verified is verifies, secret


async def test_a_deleted_endpoint_is_sent_nothing_more(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
    stranger: dict[str, str],
) -> None:
    endpoint = await registered(client, business, partner)
    path = f"/webhooks/endpoints/{endpoint['endpoint_id']}"
    await subscription_created(sessions, customer_id=business_id)  # pending, not yet sent
    (pending,) = await deliveries(client, business, endpoint["endpoint_id"])

    assert (await client.delete(path, headers=stranger)).status_code == 404
    assert (await client.delete(path, headers=business)).status_code == 204

    assert await dispatch_due(sessions, DispatchRules.of(settings)) == 0
    await subscription_created(sessions, customer_id=business_id)  # nobody subscribed now
    assert await dispatch_due(sessions, DispatchRules.of(settings)) == 0
    assert partner.received == []

    assert (await client.get(path, headers=business)).status_code == 404
    assert (await client.delete(path, headers=business)).status_code == 404
    edited = await client.patch(path, json={"description": "x"}, headers=business)
    assert edited.status_code == 404
    assert (await rotate(client, business, endpoint["endpoint_id"])).status_code == 404
    assert (await client.post(f"{path}/enable", headers=business)).status_code == 404
    listed = await client.get("/webhooks/endpoints", headers=business)
    assert listed.json()["items"] == []
    # Its deliveries stay readable as history, and are not sent again.
    history = await detail(client, business, pending["delivery_id"])
    assert history["status"] == "failed"
    assert history["last_error"] == "endpoint deleted"
    again = await client.post(
        f"/webhooks/deliveries/{pending['delivery_id']}/redeliver", headers=business
    )
    assert again.status_code == 409
    assert again.json()["code"] == "endpoint_deleted"


async def test_a_deleted_provisioning_endpoint_gives_its_place_up(
    client: httpx.AsyncClient, partner: Partner, partner_headers: dict[str, str]
) -> None:
    first = await registered(client, partner_headers, partner, provisioning=True)
    taken = await register(client, partner_headers, partner.url, provisioning=True)
    assert taken.status_code == 409
    deleted = await client.delete(
        f"/webhooks/endpoints/{first['endpoint_id']}", headers=partner_headers
    )
    assert deleted.status_code == 204
    second = await register(client, partner_headers, partner.url, provisioning=True)
    assert second.status_code == 201, second.text


async def test_a_customers_allocated_payment_reaches_its_subscribed_endpoints(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
    stranger: dict[str, str],
) -> None:
    await registered(client, business, partner, event_types=["payment.allocated"])
    other = await register(client, stranger, partner.url, event_types=["payment.allocated"])
    assert other.status_code == 201
    event = PaymentAllocated.example().model_copy(update={"customer_id": business_id})
    envelope = build_envelope(
        event, source="/vitrina/billing", subject=event.aggregate_id(), aggregate_version=1
    )
    async with transaction(sessions) as session:
        assert await service.fan_out(session, event, envelope) == 1  # the customer's only
    assert await dispatch_due(sessions, DispatchRules.of(settings)) == 1
    (received,) = partner.received
    assert received.verified
    assert received.message["type"] == "payment.allocated"
    assert received.message["data"]["customer_id"] == str(business_id)
    assert received.message["data"]["payment"]["amount"] == "5400.00"


async def test_a_new_encryption_key_takes_the_signing_secrets_along(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    partner: Partner,
    business: dict[str, str],
    business_id: uuid.UUID,
) -> None:
    """Both secrets of a rotation move to the newest key, so the old key can be dropped and
    deliveries are still signed with both."""
    from cryptography.fernet import Fernet

    from integrations.connectors.service import reencrypt_stored_secrets
    from integrations.settings import DEV_CONNECTOR_ENCRYPTION_KEY
    from vitrina_kit.vault import Vault

    endpoint = await registered(client, business, partner)
    assert (await rotate(client, business, endpoint["endpoint_id"])).status_code == 200
    new_key = Fernet.generate_key().decode()
    assert (
        await reencrypt_stored_secrets(sessions, Vault(f"{new_key},{DEV_CONNECTOR_ENCRYPTION_KEY}"))
        == 2
    )

    only_the_new_key = settings.model_copy(update={"connector_encryption_keys": SecretStr(new_key)})
    await subscription_created(sessions, customer_id=business_id)
    assert await dispatch_due(sessions, DispatchRules.of(only_the_new_key)) == 1
    assert partner.received[-1].verified  # the old secret the partner still holds
    assert v1_count(partner.received[-1].headers["vitrina-signature"]) == 2
