"""Token verification refuses every token it should, and only those."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest

from vitrina_kit.auth import (
    Caller,
    InvalidToken,
    JwksKeySource,
    OrganizationKind,
    TokenVerifier,
)
from vitrina_kit.testing import TestIssuer
from vitrina_kit.testing.tokens import new_signing_key

ISSUER = TestIssuer()
ORG = uuid.uuid4()


def verifier(issuer: TestIssuer = ISSUER) -> TokenVerifier:
    return TokenVerifier(
        issuer.key_source, issuer=issuer.issuer, audience=issuer.audience, leeway_seconds=30
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, object], claims: dict[str, object], signature: bytes = b"") -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(signature)}"


def valid_claims() -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": ISSUER.issuer, "aud": ISSUER.audience, "sub": "c", "client_id": "c",
        "org_id": str(ORG), "org_kind": "partner", "scope": "catalog:read",
        "iat": now, "nbf": now, "exp": now + 600, "jti": "j",
    }  # fmt: skip


async def test_a_valid_token_names_the_caller() -> None:
    token = ISSUER.token(
        organization_id=ORG,
        kind="business",
        scopes={"orders:read", "orders:write"},
        client_id="erp-1",
    )
    caller = await verifier().verify(token)
    assert caller == Caller(
        client_id="erp-1",
        organization_id=ORG,
        organization_kind=OrganizationKind.BUSINESS,
        scopes=frozenset({"orders:read", "orders:write"}),
    )
    assert not caller.is_operator


async def test_operator_only_scopes_count_only_on_operator_tokens() -> None:
    scopes = {"ops:read", "catalog:read"}
    partner = await verifier().verify(
        ISSUER.token(organization_id=ORG, kind="partner", scopes=scopes)
    )
    operator = await verifier().verify(
        ISSUER.token(organization_id=ORG, kind="operator", scopes=scopes)
    )
    assert partner.scopes == {"catalog:read"}
    assert operator.scopes == scopes
    assert operator.is_operator


def refused_tokens() -> dict[str, str]:
    now = int(time.time())
    public_pem = ISSUER.key.as_pem(private=False)
    hs256_header = {"alg": "HS256", "typ": "at+jwt", "kid": ISSUER.key.kid}
    hs256_input = (
        f"{b64(json.dumps(hs256_header).encode())}.{b64(json.dumps(valid_claims()).encode())}"
    )
    good = ISSUER.token(organization_id=ORG, kind="partner")
    head, body, signature = good.split(".")
    tampered_claims = {**json.loads(base64.urlsafe_b64decode(body + "==")), "org_kind": "operator"}
    return {
        "expired": ISSUER.token(organization_id=ORG, kind="partner", issued_at=now - 3600),
        "not yet valid": ISSUER.token(organization_id=ORG, kind="partner", issued_at=now + 600),
        "another audience": ISSUER.token(organization_id=ORG, kind="partner", aud="billing-api"),
        "another issuer": ISSUER.token(organization_id=ORG, kind="partner", iss="https://evil"),
        "unknown key": ISSUER.token(organization_id=ORG, kind="partner", key=new_signing_key()),
        "not an access token": ISSUER.token(
            organization_id=ORG, kind="partner", header={"typ": "JWT"}
        ),
        "no organization": ISSUER.token(organization_id=ORG, kind="partner", org_id=None),
        "unknown kind": ISSUER.token(organization_id=ORG, kind="partner", org_kind="admin"),
        "alg none": forged({"alg": "none", "typ": "at+jwt", "kid": ISSUER.key.kid}, valid_claims()),
        "hmac with the public key": hs256_input
        + "."
        + b64(hmac.new(public_pem, hs256_input.encode(), hashlib.sha256).digest()),
        "tampered claims": f"{head}.{b64(json.dumps(tampered_claims).encode())}.{signature}",
        "garbage": "not-a-jwt",
        "empty signature": f"{head}.{body}.",
    }


@pytest.mark.parametrize("case", list(refused_tokens()))
async def test_a_bad_token_is_refused(case: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        await verifier().verify(refused_tokens()[case])
    assert refused.value.status == 401
    assert refused.value.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}


async def test_a_new_signing_key_is_fetched_once_when_a_token_names_it() -> None:
    rotating = TestIssuer()
    with rotating.serving_jwks() as url:
        keys = JwksKeySource(url, min_refresh_interval_seconds=0)
        checker = TokenVerifier(keys, issuer=rotating.issuer, audience=rotating.audience)
        before = rotating.token(organization_id=ORG, kind="partner")
        await checker.verify(before)
        assert rotating.jwks_requests == 1

        rotating.rotate_key()
        after = rotating.token(organization_id=ORG, kind="partner")
        assert (await checker.verify(after)).organization_id == ORG
        assert rotating.jwks_requests == 2  # one refresh, for the kid it did not know
        await checker.verify(before)  # the old key is still published: old tokens still work
        await checker.verify(after)
        assert rotating.jwks_requests == 2  # and both are served from the cache now


async def test_made_up_key_ids_cannot_make_it_hammer_identity() -> None:
    with ISSUER.serving_jwks() as url:
        requests_before = ISSUER.jwks_requests
        checker = TokenVerifier(
            JwksKeySource(url, min_refresh_interval_seconds=60),
            issuer=ISSUER.issuer,
            audience=ISSUER.audience,
        )
        await checker.verify(ISSUER.token(organization_id=ORG, kind="partner"))
        for _ in range(5):
            with pytest.raises(InvalidToken):
                await checker.verify(
                    ISSUER.token(organization_id=ORG, kind="partner", key=new_signing_key())
                )
        assert ISSUER.jwks_requests - requests_before == 1
