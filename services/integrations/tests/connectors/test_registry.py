"""The connector registry: secrets go in encrypted and never come out; tenancy; key rotation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.connectors.service import reencrypt_stored_secrets
from integrations.settings import DEV_CONNECTOR_ENCRYPTION_KEY
from vitrina_kit.testing.database import query
from vitrina_kit.vault import Vault

SECRET = "s3cr3t-сикрет-value"


def edo_connector(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "edo_operator",
        "name": f"diadoc-{uuid.uuid4().hex[:6]}",
        "endpoint_url": "https://diadoc-api.example/",
        "auth_method": "oauth2_client_credentials",
        "token_url": "https://diadoc-api.example/oauth/token",
        "login": "vitrina",
        "options": {"box_id": "2BM-7704123450-770401001-000000000000001"},
        "secrets": {"client_secret": SECRET},
    } | overrides


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post(
        "/connectors",
        json=edo_connector(**body),
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )


async def test_secrets_are_write_only_and_encrypted_at_rest(
    client: httpx.AsyncClient, business: dict[str, str], database_url: str
) -> None:
    created = await create(client, business)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_secret"] is True
    assert "secrets" not in body
    assert SECRET not in created.text
    connector_id = body["connector_id"]

    for response in (
        await client.get(f"/connectors/{connector_id}", headers=business),
        await client.get("/connectors", headers=business),
    ):
        assert response.status_code == 200
        assert SECRET not in response.text
    assert "writeOnly" in (await client.get("/openapi.json")).text

    rows = await query(
        database_url,
        "SELECT CAST(row_to_json(c) AS text) AS raw, secrets_encrypted FROM connectors c "
        "WHERE connector_id = CAST(:id AS uuid)",
        id=connector_id,
    )
    assert SECRET not in rows[0].raw
    assert Vault(DEV_CONNECTOR_ENCRYPTION_KEY).decrypt(rows[0].secrets_encrypted) == {
        "client_secret": SECRET
    }


async def test_an_organization_manages_its_own_and_the_operator_any(
    client: httpx.AsyncClient,
    business: dict[str, str],
    business_id: uuid.UUID,
    other_business: dict[str, str],
    operator: dict[str, str],
) -> None:
    mine = (await create(client, business)).json()
    # The operator configures a connector for the business, and one of its own.
    for_business = await create(client, operator, organization_id=str(business_id))
    assert for_business.status_code == 201
    assert for_business.json()["organization_id"] == str(business_id)
    assert (await create(client, operator)).status_code == 201

    path = f"/connectors/{mine['connector_id']}"
    assert (await client.get(path, headers=other_business)).status_code == 404
    assert (
        await client.patch(path, json={"enabled": False}, headers=other_business)
    ).status_code == 404
    assert (await client.delete(path, headers=other_business)).status_code == 404
    assert (
        await create(client, other_business, organization_id=str(business_id))
    ).status_code == 404

    assert (await client.get(path, headers=operator)).status_code == 200
    listed = (await client.get("/connectors", headers=business)).json()["items"]
    assert {item["organization_id"] for item in listed} == {str(business_id)}
    assert len(listed) == 2
    assert len((await client.get("/connectors", headers=other_business)).json()["items"]) == 0


async def test_a_connector_that_could_not_work_is_refused(
    client: httpx.AsyncClient, business: dict[str, str]
) -> None:
    response = await create(client, business, secrets={"clientsecret": "x"}, options={})
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert any("client_secret" in problem for problem in problems)
    assert any("box_id" in problem for problem in problems)


async def test_new_secrets_replace_the_old_and_still_never_show(
    client: httpx.AsyncClient, business: dict[str, str], database_url: str
) -> None:
    connector_id = (await create(client, business)).json()["connector_id"]
    changed = await client.patch(
        f"/connectors/{connector_id}",
        json={"secrets": {"client_secret": "rotated-by-the-customer"}},
        headers=business,
    )
    assert changed.status_code == 200
    assert "rotated-by-the-customer" not in changed.text
    rows = await query(
        database_url,
        "SELECT secrets_encrypted FROM connectors WHERE connector_id = CAST(:id AS uuid)",
        id=connector_id,
    )
    vault = Vault(DEV_CONNECTOR_ENCRYPTION_KEY)
    assert vault.decrypt(rows[0].secrets_encrypted) == {"client_secret": "rotated-by-the-customer"}


async def test_key_rotation_moves_every_secret_to_the_new_key(
    client: httpx.AsyncClient,
    business: dict[str, str],
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    connector_id = (await create(client, business)).json()["connector_id"]
    new_key = Fernet.generate_key().decode()
    rotated = Vault(f"{new_key},{DEV_CONNECTOR_ENCRYPTION_KEY}")

    assert await reencrypt_stored_secrets(sessions, rotated) == 1
    assert await reencrypt_stored_secrets(sessions, rotated) == 0  # nothing left on the old key

    rows = await query(
        database_url,
        "SELECT secrets_encrypted FROM connectors WHERE connector_id = CAST(:id AS uuid)",
        id=connector_id,
    )
    # The old key can now be dropped: the new one alone opens every secret.
    assert Vault(new_key).decrypt(rows[0].secrets_encrypted) == {"client_secret": SECRET}
    assert not Vault(DEV_CONNECTOR_ENCRYPTION_KEY).is_current(rows[0].secrets_encrypted)
