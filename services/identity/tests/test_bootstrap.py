"""The operator's organization, its client and the first key exist from the first start, and
the organizations' events reach the broker."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr, ValidationError

from identity.main import create_app
from identity.settings import IdentitySettings
from identity.testing import (
    OPERATOR_ID,
    OPERATOR_SECRET,
    Clock,
    basic,
    get_token,
    idempotency_key,
    organization_body,
    query,
    state,
)
from vitrina_contracts.envelope import CloudEvent, decode_event
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationUpdated
from vitrina_kit.testing import app_client, read_topic

GRANT = {"grant_type": "client_credentials"}


async def test_the_operator_exists_from_the_first_start_and_once(
    settings: IdentitySettings, clock: Clock, database_url: str
) -> None:
    async with app_client(create_app(settings, clock=clock)) as client:
        token = await get_token(client, OPERATOR_ID, OPERATOR_SECRET)
        operator = (
            await client.get(
                f"/organizations/{settings.operator_organization_id}",
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()
    first = await state(database_url)
    async with app_client(create_app(settings, clock=clock)) as client:
        assert (
            await client.post(
                "/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, OPERATOR_SECRET)
            )
        ).status_code == 200

    assert await state(database_url) == first  # a restart changes nothing
    assert operator["kind"] == "operator"
    assert operator["status"] == "active"
    assert (operator["inn"], operator["kpp"], operator["ogrn"]) == (
        "7704123450",
        "770401001",
        "1027700123450",
    )
    assert operator["short_name"] == "АО «Витрина Телеком»"
    [(payload,)] = await query(database_url, "SELECT payload FROM outbox_messages")
    envelope = CloudEvent.from_json_bytes(payload)
    event = decode_event(envelope)
    assert isinstance(event, OrganizationRegistered)
    assert str(event.organization.organization_id) == operator["id"]
    assert envelope.tenantid == operator["id"]
    assert first["clients"][0][0] == OPERATOR_ID


async def test_a_changed_operator_secret_replaces_the_old_one_on_restart(
    settings: IdentitySettings, clock: Clock
) -> None:
    async with app_client(create_app(settings, clock=clock)):
        pass
    changed = settings.model_copy(
        update={"bootstrap_operator_client_secret": SecretStr("a-new-production-secret")}
    )
    async with app_client(create_app(changed, clock=clock)) as client:
        old = await client.post(
            "/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, OPERATOR_SECRET)
        )
        new = await client.post(
            "/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, "a-new-production-secret")
        )

    assert old.status_code == 401
    assert new.status_code == 200


def test_the_operators_requisites_are_checked_like_anyone_elses() -> None:
    with pytest.raises(ValidationError) as raised:
        IdentitySettings(operator_inn="7704123451")
    assert "operator_inn" in str(raised.value)


async def test_organization_events_reach_the_broker(
    settings: IdentitySettings, clock: Clock, kafka_bootstrap: str
) -> None:
    with_broker = settings.model_copy(update={"kafka_bootstrap_servers": kafka_bootstrap})
    async with app_client(create_app(with_broker, with_workers=True, clock=clock)) as client:
        registered = await client.post(
            "/organizations/register", json=organization_body(), headers=idempotency_key()
        )
        token = await get_token(client, OPERATOR_ID, OPERATOR_SECRET)
        organization_id = registered.json()["id"]
        await client.post(
            f"/organizations/{organization_id}/approve",
            headers={"Authorization": f"Bearer {token}"},
        )
        records = await read_topic(kafka_bootstrap, "identity.organizations", expected=3)

    ours = [r for r in records if r.key == organization_id.encode()]
    events = [decode_event(CloudEvent.from_json_bytes(r.value)) for r in ours]
    assert [type(event) for event in events] == [OrganizationRegistered, OrganizationUpdated]
    assert [json.loads(r.value)["aggregateversion"] for r in ours] == [1, 2]
    assert all(json.loads(r.value)["tenantid"] == organization_id for r in ours)
    assert len(records) == 3  # and the operator's own registration
