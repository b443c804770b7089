"""The OAuth 2.0 client side against a real token endpoint (the EDO operator simulator's)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.connectors.client import ConnectorClient
from integrations.connectors.models import Connector
from integrations.connectors.oauth import ReauthorizationNeeded
from integrations.settings import DEV_CONNECTOR_ENCRYPTION_KEY
from vitrina_kit.db import transaction
from vitrina_kit.testing.database import query
from vitrina_kit.vault import Vault

from .conftest import OPERATOR_BOX

VAULT = Vault(DEV_CONNECTOR_ENCRYPTION_KEY)


async def add_connector(
    sessions: async_sessionmaker[AsyncSession],
    url: str,
    *,
    auth_method: str = "oauth2_client_credentials",
    login: str = "vitrina",
    secret: str = "operator-secret",
) -> Connector:
    async with transaction(sessions) as session:
        connector = Connector(
            connector_id=uuid.uuid4(),
            organization_id=uuid.uuid4(),
            kind="edo_operator",
            name="diadoc",
            endpoint_url=url,
            auth_method=auth_method,
            token_url=f"{url}/oauth/token",
            authorize_url=f"{url}/oauth/authorize",
            login=login,
            options={"box_id": OPERATOR_BOX},
            secrets_encrypted=VAULT.encrypt({"client_secret": secret}),
            enabled=True,
            version=1,
        )
        session.add(connector)
    return connector


def connector_client(
    connector: Connector, sessions: async_sessionmaker[AsyncSession], *, leeway: float = 1.0
) -> ConnectorClient:
    return ConnectorClient(
        connector,
        sessions=sessions,
        vault=VAULT,
        refresh_leeway=timedelta(seconds=leeway),
        timeout=5,
    )


async def events(client: ConnectorClient) -> httpx.Response:
    return await client.request("GET", "V7/GetNewEvents", params={"boxId": OPERATOR_BOX})


async def stats(url: str) -> dict[str, int]:
    async with httpx.AsyncClient() as http:
        counters: dict[str, int] = (await http.get(f"{url}/simulator/stats")).json()
        return counters


async def simulate(url: str, path: str, body: dict[str, object]) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{url}{path}", json=body)).status_code == 204


async def test_the_token_is_cached_in_the_database_and_renewed_before_it_expires(
    edo_simulator: str, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    connector = await add_connector(sessions, edo_simulator)
    async with connector_client(connector, sessions) as client:
        assert (await events(client)).status_code == 200
        assert (await events(client)).status_code == 200
    # Another client (another round, another replica) uses the stored token.
    async with connector_client(connector, sessions) as client:
        assert (await events(client)).status_code == 200
    assert (await stats(edo_simulator))["token client_credentials"] == 1

    rows = await query(database_url, "SELECT token_encrypted, expires_at FROM connector_tokens")
    access = VAULT.decrypt(rows[0].token_encrypted)["access_token"]
    assert access not in rows[0].token_encrypted

    # The token lives 2 s; within the last second it is renewed before use, still valid.
    await asyncio.sleep(1.1)
    async with connector_client(connector, sessions) as client:
        assert (await events(client)).status_code == 200
    assert (await stats(edo_simulator))["token client_credentials"] == 2
    assert "fault /V7/GetNewEvents" not in await stats(edo_simulator)


async def test_a_401_gets_one_renewal_and_one_retry(
    edo_simulator: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    connector = await add_connector(sessions, edo_simulator)
    async with connector_client(connector, sessions, leeway=0) as client:
        assert (await events(client)).status_code == 200
        # The operator revokes every access token early.
        await simulate(edo_simulator, "/simulator/revoke", {"access_tokens": True})
        assert (await events(client)).status_code == 200
        assert (await stats(edo_simulator))["token client_credentials"] == 2

        # A server that keeps saying 401: one renewal, one retry, then its answer as is.
        await simulate(
            edo_simulator,
            "/simulator/faults",
            {"path": "/V7/GetNewEvents", "times": 5, "status": 401},
        )
        assert (await events(client)).status_code == 401
        counters = await stats(edo_simulator)
        assert counters["token client_credentials"] == 3
        assert counters["fault /V7/GetNewEvents"] == 2


async def test_authorization_code_with_refresh_tokens_and_a_clear_error_once_refresh_expires(
    edo_simulator: str,
    sessions: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    business: dict[str, str],
) -> None:
    created = await client.post(
        "/connectors",
        json={
            "kind": "edo_operator",
            "name": "diadoc",
            "endpoint_url": edo_simulator,
            "auth_method": "oauth2_authorization_code",
            "token_url": f"{edo_simulator}/oauth/token",
            "authorize_url": f"{edo_simulator}/oauth/authorize",
            "login": "vitrina",
            "options": {"box_id": OPERATOR_BOX},
            "secrets": {"client_secret": "operator-secret"},
        },
        headers={**business, "Idempotency-Key": "diadoc"},
    )
    assert created.status_code == 201, created.text
    connector_id = uuid.UUID(created.json()["connector_id"])
    async with transaction(sessions) as session:
        connector = await session.get(Connector, connector_id)
    assert connector is not None

    # Before anyone authorized it, there is nothing to work with: said plainly.
    async with connector_client(connector, sessions) as unauthorized:
        with pytest.raises(ReauthorizationNeeded):
            await events(unauthorized)

    # The organization's person consents on the operator's page, which redirects back.
    redirect_uri = "https://vitrina.example/connectors/callback"
    async with httpx.AsyncClient() as browser:
        page = await browser.get(
            f"{edo_simulator}/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": "vitrina",
                "redirect_uri": redirect_uri,
                "state": "xyz",
            },
        )
    code = parse_qs(urlsplit(page.headers["location"]).query)["code"][0]
    authorized = await client.post(
        f"/connectors/{connector_id}/oauth/authorization-code",
        json={"code": code, "redirect_uri": redirect_uri},
        headers=business,
    )
    assert authorized.status_code == 200, authorized.text
    reused = await client.post(
        f"/connectors/{connector_id}/oauth/authorization-code",
        json={"code": code, "redirect_uri": redirect_uri},
        headers=business,
    )
    assert reused.status_code == 422
    assert "invalid_grant" in reused.json()["detail"]

    async with connector_client(connector, sessions, leeway=0) as api:
        assert (await events(api)).status_code == 200
        await simulate(edo_simulator, "/simulator/revoke", {"access_tokens": True})
        assert (await events(api)).status_code == 200  # renewed with the refresh token
        assert (await stats(edo_simulator))["token refresh_token"] == 1

        await simulate(
            edo_simulator, "/simulator/revoke", {"access_tokens": True, "refresh_tokens": True}
        )
        with pytest.raises(ReauthorizationNeeded, match="authorize the connector again"):
            await events(api)
