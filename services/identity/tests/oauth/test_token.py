"""The token endpoint over the real database: what it issues, and every way it refuses."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from identity.main import create_app
from identity.settings import IdentitySettings
from identity.testing import (
    ENTREPRENEUR,
    OPERATOR_ID,
    OPERATOR_SECRET,
    PARTNER_BODY,
    Clock,
    Member,
    basic,
    bearer,
    get_token,
    idempotency_key,
    organization_body,
    query,
    register_member,
    state,
)
from vitrina_kit.testing import app_client

GRANT = {"grant_type": "client_credentials"}


async def jwks(client: httpx.AsyncClient) -> KeySet:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return KeySet.import_key_set(response.json())


async def decode(client: httpx.AsyncClient, token: str) -> jwt.Token:
    """The token, its signature checked against the JWKS identity serves."""
    return jwt.decode(token, await jwks(client), algorithms=["ES256"])


async def test_basic_authentication_gets_a_signed_access_token(
    client: httpx.AsyncClient, business: Member, settings: IdentitySettings, clock: Clock
) -> None:
    response = await client.post(
        "/oauth/token", data=GRANT, headers=basic(business.client_id, business.secret)
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "identity:read identity:write"
    token = await decode(client, body["access_token"])
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert token.header == {"alg": "ES256", "typ": "at+jwt", "kid": keys[0]["kid"]}
    claims = token.claims
    iat = int(clock.now.timestamp())
    assert claims == {
        "iss": settings.auth_issuer,
        "aud": "vitrina",
        "sub": business.client_id,
        "client_id": business.client_id,
        "org_id": business.id,
        "org_kind": "business",
        "scope": "identity:read identity:write",
        "iat": iat,
        "nbf": iat,
        "exp": iat + 600,
        "jti": claims["jti"],
    }
    assert len(claims["jti"]) == 32
    again = await decode(client, await get_token(client, business.client_id, business.secret))
    assert again.claims["jti"] != claims["jti"]


async def test_post_authentication_and_a_narrower_scope(
    client: httpx.AsyncClient, business: Member
) -> None:
    response = await client.post(
        "/oauth/token",
        data={
            **GRANT,
            "client_id": business.client_id,
            "client_secret": business.secret,
            "scope": "identity:read",
        },
    )

    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "identity:read"
    token = await decode(client, response.json()["access_token"])
    assert token.claims["scope"] == "identity:read"
    assert token.claims["org_id"] == business.id


async def test_the_operator_token_carries_every_scope(client: httpx.AsyncClient) -> None:
    token = await decode(client, await get_token(client, OPERATOR_ID, OPERATOR_SECRET))
    assert token.claims["org_kind"] == "operator"
    assert "identity:admin" in token.claims["scope"].split()
    assert len(token.claims["scope"].split()) == 13


async def test_the_token_opens_the_apis(client: httpx.AsyncClient, business: Member) -> None:
    token = await get_token(client, business.client_id, business.secret)
    response = await client.get(f"/organizations/{business.id}", headers=bearer(token))
    assert response.status_code == 200


def token_error(response: httpx.Response, error: str, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert set(body) == {"error", "error_description"}
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic realm=")
    return body


async def test_every_refusal_is_an_oauth_error_and_changes_nothing(
    client: httpx.AsyncClient,
    operator: dict[str, str],
    business: Member,
    database_url: str,
) -> None:
    pending = (
        await client.post(
            "/organizations/register",
            json=organization_body(**PARTNER_BODY),
            headers=idempotency_key(),
        )
    ).json()
    pending_client = (
        await client.post(
            f"/organizations/{pending['id']}/clients",
            json={"name": "CRM", "scopes": ["catalog:write"]},
            headers={**operator, **idempotency_key()},
        )
    ).json()
    revoked = await register_member(client, operator, kpp=None, **ENTREPRENEUR)
    await client.post(
        f"/organizations/{revoked.id}/clients/{revoked.client_id}/revoke", headers=operator
    )
    before = await state(database_url)
    own = basic(business.client_id, business.secret)

    cases: list[tuple[str, dict[str, str], dict[str, str], str, int]] = [
        ("wrong secret", GRANT, basic(business.client_id, "wrong"), "invalid_client", 401),
        ("unknown client", GRANT, basic("vc_nobody", business.secret), "invalid_client", 401),
        (
            "wrong secret, posted",
            {**GRANT, "client_id": business.client_id, "client_secret": "wrong"},
            {},
            "invalid_client",
            401,
        ),
        ("no credentials", GRANT, {}, "invalid_client", 401),
        ("revoked client", GRANT, basic(revoked.client_id, revoked.secret), "invalid_client", 401),
        (
            "pending organization",
            GRANT,
            basic(pending_client["client_id"], pending_client["client_secret"]),
            "unauthorized_client",
            400,
        ),
        ("unknown grant type", {"grant_type": "password"}, own, "unsupported_grant_type", 400),
        ("missing grant type", {}, own, "invalid_request", 400),
        ("scope not held", {**GRANT, "scope": "orders:write"}, own, "invalid_scope", 400),
        ("operator scope", {**GRANT, "scope": "identity:admin"}, own, "invalid_scope", 400),
        ("unknown scope", {**GRANT, "scope": "identity:everything"}, own, "invalid_scope", 400),
        (
            "two authentication methods",
            {**GRANT, "client_secret": business.secret},
            own,
            "invalid_request",
            400,
        ),
    ]
    for case, form, headers, error, status in cases:
        response = await client.post("/oauth/token", data=form, headers=headers)
        body = token_error(response, error, status)
        assert "access_token" not in body, case

    as_json = await client.post("/oauth/token", json=GRANT, headers=own)
    token_error(as_json, "invalid_request", 400)
    repeated = await client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={**own, "Content-Type": "application/x-www-form-urlencoded"},
    )
    token_error(repeated, "invalid_request", 400)
    assert await state(database_url) == before


async def test_the_pending_organizations_client_gets_tokens_once_approved(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    pending = (
        await client.post(
            "/organizations/register", json=organization_body(), headers=idempotency_key()
        )
    ).json()
    made = (
        await client.post(
            f"/organizations/{pending['id']}/clients",
            json={"name": "ERP", "scopes": ["orders:write"]},
            headers={**operator, **idempotency_key()},
        )
    ).json()
    credentials = basic(made["client_id"], made["client_secret"])
    before = await client.post("/oauth/token", data=GRANT, headers=credentials)
    await client.post(f"/organizations/{pending['id']}/approve", headers=operator)
    after = await client.post("/oauth/token", data=GRANT, headers=credentials)

    assert before.status_code == 400
    assert after.status_code == 200, after.text
    assert after.json()["scope"] == "orders:write"


async def test_the_rate_limit_per_client_is_a_429_with_retry_after(
    database_url: str, clock: Clock
) -> None:
    settings = IdentitySettings(database_url=database_url, token_rate_limit_per_client=3)
    async with app_client(create_app(settings, clock=clock)) as client:
        credentials = basic(OPERATOR_ID, OPERATOR_SECRET)
        answers = [
            await client.post("/oauth/token", data=GRANT, headers=credentials) for _ in range(3)
        ]
        # Wrong secrets count as well: guessing is what the limit is for.
        wrong = await client.post("/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, "x"))
        limited = await client.post("/oauth/token", data=GRANT, headers=credentials)
        other_client = await client.post(
            "/oauth/token", data=GRANT, headers=basic("vc_somebody_else", "x")
        )
        clock.advance(timedelta(seconds=settings.token_rate_limit_window_seconds))
        next_window = await client.post("/oauth/token", data=GRANT, headers=credentials)

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert wrong.status_code == 429
    body = token_error(limited, "temporarily_unavailable", 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "retry" in body["error_description"]
    assert other_client.status_code == 401  # its own count, not the operator's
    assert next_window.status_code == 200


async def test_the_rate_limit_per_address_counts_every_client(
    database_url: str, clock: Clock
) -> None:
    settings = IdentitySettings(database_url=database_url, token_rate_limit_per_address=4)
    async with app_client(create_app(settings, clock=clock)) as client:
        statuses = [
            (
                await client.post(
                    "/oauth/token", data=GRANT, headers=basic(f"vc_{uuid.uuid4().hex}", "x")
                )
            ).status_code
            for _ in range(4)
        ]
        limited = await client.post(
            "/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, OPERATOR_SECRET)
        )
        counted = await query(
            database_url, "SELECT hits FROM token_rate_limits WHERE bucket LIKE 'address:%'"
        )

    assert statuses == [401] * 4
    token_error(limited, "temporarily_unavailable", 429)
    assert counted == [(5,)]


async def test_tokens_of_a_changed_issuer_or_audience_follow_the_settings(
    database_url: str, clock: Clock
) -> None:
    settings = IdentitySettings(database_url=database_url, token_lifetime_seconds=300)
    settings = settings.model_copy(
        update={"auth_issuer": "https://id.vitrina.example", "auth_audience": "vitrina-test"}
    )
    async with app_client(create_app(settings, clock=clock)) as client:
        response = await client.post(
            "/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, OPERATOR_SECRET)
        )
        claims = (await decode(client, response.json()["access_token"])).claims
        metadata = (await client.get("/.well-known/oauth-authorization-server")).json()

    assert response.json()["expires_in"] == 300
    assert claims["iss"] == "https://id.vitrina.example"
    assert claims["aud"] == "vitrina-test"
    assert claims["exp"] - claims["iat"] == 300
    assert metadata["issuer"] == "https://id.vitrina.example"
    assert metadata["token_endpoint"] == "https://id.vitrina.example/oauth/token"
    assert metadata["jwks_uri"] == "https://id.vitrina.example/.well-known/jwks.json"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert "identity:admin" in metadata["scopes_supported"]
