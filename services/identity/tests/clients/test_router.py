"""API clients over the real database: secrets shown once and kept hashed, rotation with an
overlap, revocation, scopes by organization kind, tenancy."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import httpx

from identity.settings import IdentitySettings
from identity.testing import (
    Clock,
    Member,
    basic,
    idempotency_key,
    organization_body,
    query,
    scalar,
    state,
)

GRANT = {"grant_type": "client_credentials"}


async def create(
    client: httpx.AsyncClient,
    member: Member,
    scopes: list[str],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/organizations/{member.id}/clients",
        json={"name": "1С:Бухгалтерия", "scopes": scopes},
        headers={**(headers or member.headers), **idempotency_key()},
    )


async def token_status(client: httpx.AsyncClient, client_id: str, secret: str) -> int:
    response = await client.post("/oauth/token", data=GRANT, headers=basic(client_id, secret))
    return response.status_code


async def test_the_secret_is_shown_once_and_stored_as_a_keyed_hash(
    client: httpx.AsyncClient, business: Member, settings: IdentitySettings, database_url: str
) -> None:
    response = await create(client, business, ["orders:write", "orders:read", "orders:write"])

    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    made = response.json()
    assert response.headers["location"] == (
        f"/organizations/{business.id}/clients/{made['client_id']}"
    )
    assert made["scopes"] == ["orders:read", "orders:write"]
    assert made["status"] == "active"
    assert len(made["client_secret"]) >= 43
    stored = await scalar(
        database_url,
        "SELECT secret_hash FROM api_clients WHERE client_id = :id",
        id=made["client_id"],
    )
    pepper = settings.client_secret_pepper.get_secret_value().encode()
    assert stored == hmac.new(pepper, made["client_secret"].encode(), hashlib.sha256).hexdigest()
    read = await client.get(
        f"/organizations/{business.id}/clients/{made['client_id']}", headers=business.headers
    )
    listed = await client.get(f"/organizations/{business.id}/clients", headers=business.headers)
    assert "client_secret" not in read.json()
    assert {item["client_id"] for item in listed.json()["items"]} == {
        business.client_id,
        made["client_id"],
    }
    assert await token_status(client, made["client_id"], made["client_secret"]) == 200


async def test_a_replayed_creation_answers_without_the_secret_and_keeps_none(
    client: httpx.AsyncClient, business: Member, database_url: str
) -> None:
    headers = {**business.headers, **idempotency_key()}
    body = {"name": "ERP", "scopes": ["identity:read"]}
    path = f"/organizations/{business.id}/clients"

    first = await client.post(path, json=body, headers=headers)
    again = await client.post(path, json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json()["client_id"] == first.json()["client_id"]
    assert "client_secret" not in again.json()
    kept = await query(database_url, "SELECT response_body::text FROM idempotency_keys")
    assert all(first.json()["client_secret"] not in row[0] for row in kept)
    assert (
        await scalar(
            database_url,
            "SELECT count(*) FROM api_clients WHERE organization_id = :id",
            id=business.id,
        )
        == 2
    )


async def test_scopes_beyond_the_organizations_kind_are_refused(
    client: httpx.AsyncClient, business: Member, partner: Member, database_url: str
) -> None:
    before = await state(database_url)
    cases = [
        (business, ["catalog:write"]),  # a partner's
        (business, ["identity:admin"]),  # the operator's
        (partner, ["orders:write"]),  # a business's
        (partner, ["catalog:everything"]),  # nobody's
    ]
    for member, scopes in cases:
        response = await create(client, member, scopes)
        assert response.status_code == 422, (scopes, response.text)
        assert response.json()["code"] == "invalid_scope"
        assert response.json()["invalid-params"][0]["name"] == "body.scopes"

    malformed = await create(client, business, ["Orders Write"])
    assert malformed.status_code == 422
    assert malformed.json()["invalid-params"][0]["name"] == "body.scopes.0"
    assert await state(database_url) == before


async def test_the_old_secret_works_during_the_overlap_window_only(
    client: httpx.AsyncClient, business: Member, clock: Clock, database_url: str
) -> None:
    path = f"/organizations/{business.id}/clients/{business.client_id}"
    old = business.secret

    rotated = await client.post(f"{path}/rotate-secret", headers=business.headers)

    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    new = rotated.json()["client_secret"]
    assert new != old
    assert rotated.json()["secret_rotated_at"] is not None
    assert await token_status(client, business.client_id, new) == 200
    clock.advance(timedelta(hours=23, minutes=59))
    assert await token_status(client, business.client_id, old) == 200
    clock.advance(timedelta(minutes=1))
    assert await token_status(client, business.client_id, old) == 401
    assert await token_status(client, business.client_id, new) == 200


async def test_a_second_rotation_ends_the_first_secret_at_once(
    client: httpx.AsyncClient, business: Member
) -> None:
    path = f"/organizations/{business.id}/clients/{business.client_id}/rotate-secret"
    second = (await client.post(path, headers=business.headers)).json()["client_secret"]
    third = (await client.post(path, headers=business.headers)).json()["client_secret"]

    assert await token_status(client, business.client_id, business.secret) == 401
    assert await token_status(client, business.client_id, second) == 200
    assert await token_status(client, business.client_id, third) == 200


async def test_a_revoked_client_gets_no_tokens_and_stays_revoked(
    client: httpx.AsyncClient, operator: dict[str, str], business: Member
) -> None:
    path = f"/organizations/{business.id}/clients/{business.client_id}"

    revoked = await client.post(f"{path}/revoke", headers=operator)
    again = await client.post(f"{path}/revoke", headers=operator)
    rotate = await client.post(f"{path}/rotate-secret", headers=operator)

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revoked_at"] is not None
    assert again.status_code == rotate.status_code == 409
    assert again.json()["code"] == "client_revoked"
    assert await token_status(client, business.client_id, business.secret) == 401


async def test_another_organizations_clients_do_not_exist_for_you(
    client: httpx.AsyncClient, business: Member, partner: Member, database_url: str
) -> None:
    before = await state(database_url)
    base = f"/organizations/{business.id}/clients"
    theirs = f"{base}/{business.client_id}"
    # Its own client's id under the other's organization: found nowhere either.
    own_under_theirs = f"{base}/{partner.client_id}"

    answers = {
        "list": await client.get(base, headers=partner.headers),
        "read": await client.get(theirs, headers=partner.headers),
        "create": await create(client, business, ["identity:read"], headers=partner.headers),
        "rotate": await client.post(f"{theirs}/rotate-secret", headers=partner.headers),
        "revoke": await client.post(f"{theirs}/revoke", headers=partner.headers),
        "own id elsewhere": await client.get(own_under_theirs, headers=partner.headers),
    }

    for case, response in answers.items():
        assert response.status_code == 404, (case, response.text)
    assert await state(database_url) == before
    assert await token_status(client, business.client_id, business.secret) == 200


async def test_a_client_of_another_organization_is_not_found_under_mine(
    client: httpx.AsyncClient, business: Member, partner: Member
) -> None:
    response = await client.get(
        f"/organizations/{business.id}/clients/{partner.client_id}", headers=business.headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "client_not_found"


async def test_a_rejected_organization_gets_no_clients(
    client: httpx.AsyncClient, operator: dict[str, str], database_url: str
) -> None:
    applied = await client.post(
        "/organizations/register", json=organization_body(), headers=idempotency_key()
    )
    organization_id = applied.json()["id"]
    await client.post(
        f"/organizations/{organization_id}/reject", json={"reason": "дубль"}, headers=operator
    )

    response = await client.post(
        f"/organizations/{organization_id}/clients",
        json={"name": "ERP", "scopes": ["orders:read"]},
        headers={**operator, **idempotency_key()},
    )

    assert response.status_code == 409
    assert response.json()["code"] == "organization_cannot_have_clients"
    assert (
        await scalar(
            database_url,
            "SELECT count(*) FROM api_clients WHERE organization_id = :id",
            id=organization_id,
        )
        == 0
    )
