"""Signing keys over the real database: published ahead of use, retired after their last token,
encrypted at rest. Time moves by the test's clock, not by sleeping."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import SecretStr

from identity.main import create_app
from identity.settings import DEV_KEY_ENCRYPTION_KEY, IdentitySettings
from identity.testing import OPERATOR_ID, OPERATOR_SECRET, Clock, Member, get_token, query
from vitrina_kit.testing import app_client

AHEAD = timedelta(seconds=60)
LIFETIME = timedelta(seconds=600)
GRACE = timedelta(seconds=60)


@pytest.fixture
def settings(database_url: str) -> IdentitySettings:
    return IdentitySettings(
        database_url=database_url,
        signing_key_publish_ahead_seconds=AHEAD.total_seconds(),
        token_lifetime_seconds=int(LIFETIME.total_seconds()),
        signing_key_grace_seconds=int(GRACE.total_seconds()),
    )


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


async def published(client: httpx.AsyncClient) -> list[str]:
    return [key["kid"] for key in (await client.get("/.well-known/jwks.json")).json()["keys"]]


async def verifies(client: httpx.AsyncClient, token: str) -> bool:
    """Does the token's signature check out against the JWKS identity serves now."""
    keys = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    try:
        jwt.decode(token, keys, algorithms=["ES256"])
    except (JoseError, ValueError):
        return False
    return True


async def operator_token(client: httpx.AsyncClient) -> str:
    return await get_token(client, OPERATOR_ID, OPERATOR_SECRET)


async def test_the_first_key_exists_from_the_start_and_only_once(
    settings: IdentitySettings, clock: Clock, database_url: str
) -> None:
    for _ in range(2):  # a restart (or a second replica) makes no second key
        async with app_client(create_app(settings, clock=clock)) as client:
            kids = await published(client)
            token = await operator_token(client)
    assert len(kids) == 1
    assert kid_of(token) == kids[0]
    assert await query(database_url, "SELECT count(*) FROM signing_keys") == [(1,)]


async def test_rotation_publishes_first_signs_later_and_retires_after_the_last_token(
    client: httpx.AsyncClient, operator: dict[str, str], clock: Clock
) -> None:
    [old_kid] = await published(client)
    before = await operator_token(client)

    rotated = await client.post("/keys/rotate", headers=operator)

    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["state"] == "pending"
    assert new["kid"] != old_kid
    assert await published(client) == [old_kid, new["kid"]]  # in the JWKS at once
    clock.advance(AHEAD - timedelta(seconds=1))
    last_of_the_old = await operator_token(client)
    assert kid_of(last_of_the_old) == old_kid  # not signing before its time

    clock.advance(timedelta(seconds=1))
    after = await operator_token(client)
    assert kid_of(after) == new["kid"]
    assert all([await verifies(client, t) for t in (before, last_of_the_old, after)])
    items = (await client.get("/keys", headers=operator)).json()["items"]
    listed = {key["kid"]: key for key in items}
    assert listed[old_kid]["state"] == "retired"
    assert listed[new["kid"]]["state"] == "signing"

    # The old key's last token lives until activation - 1 s + lifetime; the key stays until
    # activation + lifetime + grace, and not a moment longer.
    clock.advance(LIFETIME + GRACE - timedelta(seconds=1))
    assert old_kid in await published(client)
    assert await verifies(client, last_of_the_old)
    clock.advance(timedelta(seconds=1))
    assert await published(client) == [new["kid"]]
    assert not await verifies(client, last_of_the_old)
    assert await verifies(client, after)


async def test_the_key_rotates_by_itself_when_it_grows_old(database_url: str, clock: Clock) -> None:
    settings = IdentitySettings(
        database_url=database_url,
        signing_key_rotation_days=1,
        signing_key_publish_ahead_seconds=AHEAD.total_seconds(),
    )
    async with app_client(create_app(settings, clock=clock)) as client:
        [first] = await published(client)
        clock.advance(timedelta(days=1))
        due = await operator_token(client)  # notices the age, rotates, still signs with the old
        again = await operator_token(client)  # the successor waits: no second rotation
        kids = await published(client)
        clock.advance(AHEAD)
        fresh = await operator_token(client)

    assert kid_of(due) == kid_of(again) == first
    assert len(kids) == 2
    assert kid_of(fresh) == kids[1]


async def test_only_the_operator_rotates_keys(
    client: httpx.AsyncClient, business: Member, database_url: str
) -> None:
    keys = await query(database_url, "SELECT kid FROM signing_keys")
    refused = await client.post("/keys/rotate", headers=business.headers)
    anonymous = await client.post("/keys/rotate")
    listing = await client.get("/keys", headers=business.headers)

    assert refused.status_code == listing.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert anonymous.status_code == 401
    assert await query(database_url, "SELECT kid FROM signing_keys") == keys


async def test_the_jwks_holds_public_keys_only_and_is_cached_briefly(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/.well-known/jwks.json")

    assert response.headers["cache-control"] == "public, max-age=60"
    [key] = response.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")


def private_jwk(ciphertext: str, fernet_key: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(Fernet(fernet_key).decrypt(ciphertext.encode()))
    return parsed


async def test_private_keys_are_encrypted_at_rest_and_the_encryption_key_rotates(
    settings: IdentitySettings, clock: Clock, database_url: str
) -> None:
    async with app_client(create_app(settings, clock=clock)) as client:
        token = await operator_token(client)
    [(kid, stored)] = await query(
        database_url, "SELECT kid, private_jwk_encrypted FROM signing_keys"
    )
    assert '"d"' not in stored
    assert private_jwk(stored, DEV_KEY_ENCRYPTION_KEY)["d"]

    newer = Fernet.generate_key().decode()
    rotated = settings.model_copy(
        update={"key_encryption_keys": SecretStr(f"{newer},{DEV_KEY_ENCRYPTION_KEY}")}
    )
    async with app_client(create_app(rotated, clock=clock)) as client:
        still = await operator_token(client)
        assert await verifies(client, token)
    [(same_kid, restored)] = await query(
        database_url, "SELECT kid, private_jwk_encrypted FROM signing_keys"
    )

    assert same_kid == kid == kid_of(still)
    assert restored != stored
    assert private_jwk(restored, newer) == private_jwk(stored, DEV_KEY_ENCRYPTION_KEY)
