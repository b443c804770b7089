"""Token introspection (RFC 7662) for the operator."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import httpx
from joserfc.jwk import KeySet

from identity.testing import Clock, Member, bearer, get_token
from vitrina_kit.testing.tokens import TestIssuer


async def introspect(
    client: httpx.AsyncClient, headers: dict[str, str], token: str
) -> httpx.Response:
    return await client.post("/oauth/introspect", data={"token": token}, headers=headers)


async def test_an_active_token_is_described(
    client: httpx.AsyncClient, operator: dict[str, str], business: Member
) -> None:
    response = await introspect(client, operator, business.token)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    answer = response.json()
    claims = _part(business.token, 1)
    assert answer == {
        "active": True,
        "scope": "identity:read identity:write",
        "client_id": business.client_id,
        "sub": business.client_id,
        "org_id": business.id,
        "org_kind": "business",
        "aud": "vitrina",
        "iss": "http://127.0.0.1:8001",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["iat"],
        "jti": claims["jti"],
        "token_type": "Bearer",
    }


def _part(token: str, index: int) -> dict[str, Any]:
    """The header (0) or claims (1) of a JWT, unverified."""
    segment = token.split(".")[index]
    padded = segment + "=" * (-len(segment) % 4)
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return decoded


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64(document: dict[str, object]) -> str:
    return _b64url(json.dumps(document).encode())


async def test_inactive_tokens_say_only_that(
    client: httpx.AsyncClient, operator: dict[str, str], business: Member, clock: Clock
) -> None:
    header, claims, signature = business.token.split(".")
    kid = _part(business.token, 0)["kid"]
    forged = _b64({**_part(business.token, 1), "org_kind": "operator"})
    public_key = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json()).keys[0]
    # The classic confusion: an HMAC whose secret is the server's public key (built by hand;
    # joserfc itself refuses to make one).
    signing_input = _b64({"alg": "HS256", "typ": "at+jwt", "kid": kid}) + "." + claims
    mac = hmac.new(public_key.as_pem(private=False), signing_input.encode(), hashlib.sha256)
    hmac_with_public_key = signing_input + "." + _b64url(mac.digest())
    foreign = TestIssuer().token(organization_id=business.organization["id"], kind="business")

    for case, token in {
        "garbage": "not-a-token",
        "forged claims": f"{header}.{forged}.{signature}",
        "alg none": _b64({"alg": "none", "typ": "at+jwt", "kid": kid}) + f".{claims}.",
        "HMAC with the public key": hmac_with_public_key,
        "signed by an unknown key": foreign,
    }.items():
        response = await introspect(client, operator, token)
        assert response.status_code == 200, case
        assert response.json() == {"active": False}, case

    clock.advance(timedelta(minutes=9, seconds=59))
    assert (await introspect(client, operator, business.token)).json()["active"] is True
    clock.advance(timedelta(seconds=2))  # expired
    assert (await introspect(client, operator, business.token)).json() == {"active": False}


async def test_a_revoked_clients_token_is_inactive_at_once(
    client: httpx.AsyncClient, operator: dict[str, str], business: Member
) -> None:
    token = await get_token(client, business.client_id, business.secret)
    revoked = await client.post(
        f"/organizations/{business.id}/clients/{business.client_id}/revoke", headers=operator
    )
    assert revoked.status_code == 200

    assert (await introspect(client, operator, token)).json() == {"active": False}


async def test_only_the_operator_introspects(
    client: httpx.AsyncClient, operator: dict[str, str], business: Member
) -> None:
    by_business = await introspect(client, business.headers, business.token)
    anonymous = await client.post("/oauth/introspect", data={"token": business.token})
    no_token_param = await client.post("/oauth/introspect", data={}, headers=operator)

    assert by_business.status_code == 403
    assert by_business.json()["code"] == "insufficient_scope"
    assert anonymous.status_code == 401
    assert no_token_param.status_code == 400
    assert no_token_param.json()["error"] == "invalid_request"


async def test_the_operators_read_only_client_may_not_introspect(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    read_only = await get_token(client, "vitrina-operator", "dev-operator-secret", "ops:read")
    response = await introspect(client, bearer(read_only), read_only)
    assert response.status_code == 403


async def test_the_refusals_of_the_callers_token_are_documented_problems(
    client: httpx.AsyncClient,
) -> None:
    """Found by the API fuzzer: introspection's 401 and 403 were missing from its OpenAPI."""
    documented = (await client.get("/openapi.json")).json()["paths"]["/oauth/introspect"]["post"]

    for status in ("401", "403"):
        assert "application/problem+json" in documented["responses"][status]["content"]
