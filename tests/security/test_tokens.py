"""Forged, stale and foreign access tokens are refused by every protected service: 401 with
``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750 §3), a token without the route's
scope 403 ``insufficient_scope``; always problem+json."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from vitrina_kit.auth import OrganizationKind
from vitrina_kit.problems import PROBLEM_CONTENT_TYPE
from vitrina_kit.testing import TestIssuer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, object]) -> str:
    return _b64(json.dumps(value).encode())


def _parts(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    header, payload, signature = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(header + "==")),
        json.loads(base64.urlsafe_b64decode(payload + "==")),
        signature,
    )


def _hs256(header: dict[str, object], payload: dict[str, object], secret: bytes) -> str:
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def forged_tokens(issuer: TestIssuer) -> dict[str, str]:
    """Every way a token must fail, each otherwise a valid business token with every scope."""
    org = uuid.uuid4()
    now = int(time.time())
    good = issuer.token(organization_id=org, kind=OrganizationKind.BUSINESS)
    header, payload, signature = _parts(good)
    public_pem = issuer.key.as_pem(private=False)
    public_jwk = json.dumps(issuer.key.as_dict(private=False)).encode()
    hs_header = {**header, "alg": "HS256"}
    token = issuer.token
    business = OrganizationKind.BUSINESS
    return {
        "expired": token(organization_id=org, kind=business, issued_at=now - 700),
        # The verifier's leeway is 30 s: a minute ahead is beyond it.
        "not yet valid": token(organization_id=org, kind=business, nbf=now + 120),
        "issued in the future": token(organization_id=org, kind=business, issued_at=now + 3600),
        "wrong audience": token(organization_id=org, kind=business, aud="another-api"),
        "wrong issuer": token(organization_id=org, kind=business, iss="https://evil.example"),
        "alg none": f"{_segment({**header, 'alg': 'none'})}.{_segment(payload)}.",
        "alg none, signature kept": f"{_segment({**header, 'alg': 'none'})}.{_segment(payload)}"
        f".{signature}",
        "HS256 keyed with the public key (PEM)": _hs256(hs_header, payload, public_pem),
        "HS256 keyed with the public key (JWK)": _hs256(hs_header, payload, public_jwk),
        "unknown kid": token(organization_id=org, kind=business, header={"kid": "no-such-key"}),
        "tampered payload": f"{good.split('.')[0]}."
        f"{_segment({**payload, 'org_kind': 'operator'})}.{signature}",
        "not an access token (typ JWT)": token(
            organization_id=org, kind=business, header={"typ": "JWT"}
        ),
        "scope not a string": token(organization_id=org, kind=business, scope=["ops:read"]),
        "org_id not a string": token(organization_id=org, kind=business, org_id=42),
        "no exp": token(organization_id=org, kind=business, exp=None),
        "garbage": "not-a-jwt",
        "signed by another key": TestIssuer().token(organization_id=org, kind=business),
    }


@pytest.mark.parametrize("name", ["identity", "catalog", "orders", "billing", "integrations"])
async def test_bad_tokens_are_refused_by_every_protected_service(
    name: str, open_app: Any, route_table: dict[str, Any], token_issuer: TestIssuer
) -> None:
    # A GET route of the service that needs a token and has no path parameter.
    path, scopes = next(
        (route.path, route.scopes)
        for route in route_table[name]
        if route.protected and route.method == "GET" and not route.path_params
    )
    refusals: dict[str, tuple[int, str, str, str]] = {}
    async with open_app(name) as client:
        cases = {**forged_tokens(token_issuer), "no token": ""}
        for case, token in cases.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await client.get(path, headers=headers)
            refusals[case] = (
                response.status_code,
                response.headers.get("content-type", ""),
                response.json().get("code", "") if response.content else "",
                response.headers.get("www-authenticate", ""),
            )
        # The control: the same route takes a good token, so the refusals are about the token.
        org = uuid.uuid4()
        accepted = await client.get(path, headers=token_issuer.headers(org, "operator"))
        lacking = await client.get(
            path, headers=token_issuer.headers(org, "operator", scopes={"nothing:here"})
        )

    expected = (401, PROBLEM_CONTENT_TYPE, "invalid_token", 'Bearer error="invalid_token"')
    assert {case: got for case, got in refusals.items() if got != expected} == {}
    assert accepted.status_code == 200, accepted.text
    assert lacking.status_code == 403
    assert lacking.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert lacking.json()["code"] == "insufficient_scope"
    challenge = lacking.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert all(scope in challenge for scope in scopes)


@pytest.mark.parametrize(
    "make",
    [
        lambda issuer: issuer.token(
            organization_id=uuid.uuid4(), kind="business", scope="catalog:read ops:read"
        ),
        lambda issuer: issuer.token(organization_id=uuid.uuid4(), kind="partner"),
    ],
    ids=["operator-only scope on a business token", "partner token"],
)
async def test_operator_only_scopes_count_for_nothing_on_anyone_elses_token(
    make: Callable[[TestIssuer], str], open_app: Any, token_issuer: TestIssuer
) -> None:
    async with open_app("catalog") as client:
        response = await client.get(
            "/ops/audit", headers={"Authorization": f"Bearer {make(token_issuer)}"}
        )
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
