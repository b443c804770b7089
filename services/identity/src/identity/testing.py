"""Test support for identity and for the tests of services that need its tokens: valid
requisites, a hand-moved clock, getting tokens, registering an organization with a client.

Used by identity's own tests and importable by any other suite (``from identity.testing import
...``); nothing here runs in the service.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import httpx

from identity.settings import DEV_OPERATOR_CLIENT_ID, DEV_OPERATOR_CLIENT_SECRET

# Re-exported: identity's tests import them from here.
from vitrina_kit.testing.database import query as query
from vitrina_kit.testing.database import scalar as scalar

OPERATOR_ID = DEV_OPERATOR_CLIENT_ID
OPERATOR_SECRET = DEV_OPERATOR_CLIENT_SECRET

# Requisites with valid check digits (invented, in the shape of real ones).
BUSINESS = {"inn": "5012345672", "kpp": "501201001", "ogrn": "1215000123458"}
PARTNER = {"inn": "7802543212", "kpp": "780201001", "ogrn": "1177847123453"}
ENTREPRENEUR = {"inn": "500100732259", "ogrn": "304500116000157"}
BANK = {
    "bank_name": "ПАО Сбербанк",
    "bik": "044525225",
    "settlement_account": "40702810938000012345",
    "correspondent_account": "30101810400000000225",
}


class Clock:
    """A clock a test moves by hand. It starts at the real time, so the tokens it dates also
    pass the kit's verifier (which reads the real clock) until the test moves far ahead."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


async def state(database_url: str) -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    return {
        "organizations": await query(
            database_url, "SELECT id, status, version, kpp FROM organizations ORDER BY id"
        ),
        "clients": await query(
            database_url,
            "SELECT client_id, status, secret_hash, previous_secret_hash, scopes "
            "FROM api_clients ORDER BY client_id",
        ),
        "keys": await query(
            database_url, "SELECT kid, activates_at, retires_at FROM signing_keys ORDER BY kid"
        ),
        "outbox": await scalar(database_url, "SELECT count(*) FROM outbox_messages"),
    }


def basic(client_id: str, secret: str) -> dict[str, str]:
    """HTTP Basic client authentication (RFC 6749 §2.3.1: each part form-encoded first)."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def idempotency_key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def get_token(
    client: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None
) -> str:
    """An access token from ``client`` (an HTTP client of identity's API)."""
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    response = await client.post("/oauth/token", data=form, headers=basic(client_id, secret))
    if response.status_code != 200:
        raise AssertionError(f"no token for {client_id}: {response.status_code} {response.text}")
    token: str = response.json()["access_token"]
    return token


def organization_body(**overrides: object) -> dict[str, object]:
    """A valid registration of a business; override any field (None drops it)."""
    body: dict[str, object] = {
        "kind": "business",
        "legal_name": "Общество с ограниченной ответственностью «Ромашка»",
        "short_name": "ООО «Ромашка»",
        **BUSINESS,
        "legal_address": "143900, Московская обл., г. Балашиха, ул. Советская, д. 3",
        "bank_details": BANK,
        "contact_email": "buh@romashka.example",
        "contact_phone": "+74951234567",
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not None}


PARTNER_BODY = {
    "kind": "partner",
    "legal_name": "Общество с ограниченной ответственностью «Облачные решения»",
    "short_name": "ООО «Облачные решения»",
    "bank_details": None,
    "legal_address": "194044, г. Санкт-Петербург, Выборгская ул., д. 5, оф. 301",
    **PARTNER,
}


@dataclass
class Member:
    """An organization with one API client and a token of it."""

    organization: dict[str, Any]
    client_id: str
    secret: str
    token: str

    @property
    def id(self) -> str:
        return str(self.organization["id"])

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def register_member(
    client: httpx.AsyncClient,
    operator_headers: dict[str, str],
    *,
    scopes: list[str] | None = None,
    **overrides: object,
) -> Member:
    """An active organization registered by the operator, with a client and its token."""
    created = await client.post(
        "/organizations",
        json=organization_body(**overrides),
        headers={**operator_headers, **idempotency_key()},
    )
    if created.status_code != 201:
        raise AssertionError(f"not registered: {created.status_code} {created.text}")
    organization = created.json()
    made = await client.post(
        f"/organizations/{organization['id']}/clients",
        json={"name": "ERP", "scopes": scopes or ["identity:read", "identity:write"]},
        headers={**operator_headers, **idempotency_key()},
    )
    if made.status_code != 201:
        raise AssertionError(f"no client: {made.status_code} {made.text}")
    client_id, secret = made.json()["client_id"], made.json()["client_secret"]
    return Member(organization, client_id, secret, await get_token(client, client_id, secret))
