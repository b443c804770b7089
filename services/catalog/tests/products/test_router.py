"""The products API over a real, migrated PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from vitrina_contracts.envelope import CloudEvent, decode_event
from vitrina_contracts.events.catalog import ProductPublished
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.testing import TestIssuer
from vitrina_kit.testing.database import scalar


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def test_a_partner_creates_a_draft_with_its_plans(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    partner_id: uuid.UUID,
    new_product: Callable[..., dict],
) -> None:
    body = new_product()
    response = await client.post("/products", json=body, headers={**partner, **key()})

    assert response.status_code == 201, response.text
    product = response.json()
    assert response.headers["location"] == f"/products/{product['id']}"
    assert product["status"] == "draft"
    assert product["version"] == 0
    assert product["partner_id"] == str(partner_id)
    assert [p["code"] for p in product["plans"]] == ["start", "backup"]
    assert product["plans"][0]["unit_price"] == "1250.00"
    assert product["plans"][1]["unit_price"] == "3.50"
    assert product["plans"][1]["vat_mode"] == "exempt"
    fetched = await client.get(f"/products/{product['id']}", headers=partner)
    assert fetched.json() == product


async def test_approval_writes_the_event_in_the_same_transaction(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict],
    database_url: str,
) -> None:
    created = (
        await client.post("/products", json=new_product(), headers={**partner, **key()})
    ).json()
    submitted = await client.post(f"/products/{created['id']}/submit", headers=partner)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    assert await scalar(database_url, "SELECT count(*) FROM outbox_messages") == 0

    response = await client.post(f"/products/{created['id']}/approve", headers=operator)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "published"
    assert response.json()["version"] == 1
    payload = await scalar(database_url, "SELECT payload FROM outbox_messages")
    envelope = CloudEvent.from_json_bytes(payload)  # type: ignore[arg-type]
    event = decode_event(envelope)
    assert isinstance(event, ProductPublished)
    assert envelope.subject == created["id"]
    assert envelope.aggregateversion == 1
    assert envelope.source == "/vitrina/catalog"
    assert str(event.product.product_id) == created["id"]
    assert [str(p.plan_id) for p in event.product.plans] == [p["id"] for p in created["plans"]]
    assert str(event.product.plans[1].unit_price) == "3.50"


async def test_approving_twice_is_a_conflict_and_publishes_once(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict],
    database_url: str,
) -> None:
    created = (
        await client.post("/products", json=new_product(), headers={**partner, **key()})
    ).json()
    await client.post(f"/products/{created['id']}/submit", headers=partner)
    await client.post(f"/products/{created['id']}/approve", headers=operator)

    again = await client.post(f"/products/{created['id']}/approve", headers=operator)

    assert again.status_code == 409
    assert again.json()["code"] == "product_cannot_be_approved"
    assert await scalar(database_url, "SELECT count(*) FROM outbox_messages") == 1


async def test_a_product_without_public_plans_cannot_be_submitted(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    new_product: Callable[..., dict],
    database_url: str,
) -> None:
    body = new_product(
        plans=[
            {
                "code": "vip",
                "name": "VIP",
                "pricing_unit": "seat",
                "unit_price": "9.99",
                "public": False,
            }
        ]
    )
    created = (await client.post("/products", json=body, headers={**partner, **key()})).json()
    response = await client.post(f"/products/{created['id']}/submit", headers=partner)
    assert response.status_code == 422
    assert response.json()["code"] == "product_has_no_public_plan"
    assert await scalar(database_url, "SELECT count(*) FROM outbox_messages") == 0


async def test_another_partners_product_does_not_exist_for_you(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    other_partner: dict[str, str],
    new_product: Callable[..., dict],
    database_url: str,
) -> None:
    created = (
        await client.post("/products", json=new_product(), headers={**partner, **key()})
    ).json()

    read = await client.get(f"/products/{created['id']}", headers=other_partner)
    submit = await client.post(f"/products/{created['id']}/submit", headers=other_partner)
    edit = await client.patch(
        f"/products/{created['id']}", json={"name": "Чужой"}, headers=other_partner
    )
    history = await client.get(f"/products/{created['id']}/revisions", headers=other_partner)
    unknown = await client.get(f"/products/{uuid.uuid4()}", headers=other_partner)

    assert read.status_code == submit.status_code == edit.status_code == 404
    assert history.status_code == 404
    # Exactly what an id that exists nowhere gets: nothing tells the two apart.
    assert read.json() | {"instance": None, "detail": None} == unknown.json() | {
        "instance": None,
        "detail": None,
    }
    assert await scalar(database_url, "SELECT status FROM products") == "draft"
    assert await scalar(database_url, "SELECT name FROM products") == "Облачный сервер"
    assert await scalar(database_url, "SELECT count(*) FROM outbox_messages") == 0


async def test_the_operator_acts_on_every_partners_products(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict],
) -> None:
    created = (
        await client.post("/products", json=new_product(), headers={**partner, **key()})
    ).json()
    assert (await client.get(f"/products/{created['id']}", headers=operator)).status_code == 200
    submitted = await client.post(f"/products/{created['id']}/submit", headers=operator)
    assert submitted.status_code == 200
    published = await client.post(f"/products/{created['id']}/approve", headers=operator)
    assert published.status_code == 200
    assert published.json()["partner_id"] == created["partner_id"]


async def test_a_business_cannot_offer_products(
    client: httpx.AsyncClient,
    business: dict[str, str],
    new_product: Callable[..., dict],
    database_url: str,
) -> None:
    response = await client.post("/products", json=new_product(), headers={**business, **key()})
    assert response.status_code == 403
    assert response.json()["code"] == "only_partners_offer_products"
    assert await scalar(database_url, "SELECT count(*) FROM products") == 0


async def test_every_route_wants_a_token_with_its_scope(
    client: httpx.AsyncClient,
    token_issuer: TestIssuer,
    partner_id: uuid.UUID,
    new_product: Callable[..., dict],
    database_url: str,
) -> None:
    read_only = token_issuer.headers(partner_id, OrganizationKind.PARTNER, {"catalog:read"})
    some_id = uuid.uuid4()
    for method, path in (
        ("POST", "/products"),
        ("GET", f"/products/{some_id}"),
        ("POST", f"/products/{some_id}/submit"),
        ("POST", f"/products/{some_id}/approve"),
        ("POST", f"/products/{some_id}/reject"),
        ("POST", f"/products/{some_id}/retire"),
        ("PATCH", f"/products/{some_id}"),
        ("GET", f"/products/{some_id}/revisions"),
    ):
        anonymous = await client.request(method, path, json=new_product(), headers=key())
        assert anonymous.status_code == 401, path
        assert anonymous.json()["code"] == "invalid_token"
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
    denied = await client.post("/products", json=new_product(), headers={**read_only, **key()})
    assert denied.status_code == 403
    assert denied.json()["code"] == "insufficient_scope"
    assert 'scope="catalog:write"' in denied.headers["www-authenticate"]
    assert await scalar(database_url, "SELECT count(*) FROM products") == 0


async def test_changes_are_in_the_audit_log_and_reads_are_not(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    partner_id: uuid.UUID,
    operator: dict[str, str],
    new_product: Callable[..., dict],
) -> None:
    headers = {**partner, **key(), "X-Correlation-Id": "audit-me"}
    created = (await client.post("/products", json=new_product(), headers=headers)).json()
    await client.post("/products", json=new_product(), headers=headers)  # replay: no change
    await client.get(f"/products/{created['id']}", headers=partner)
    await client.post(f"/products/{created['id']}/submit", headers=partner)
    await client.post(f"/products/{created['id']}/submit", headers=partner)  # 409: no change

    log = await client.get("/ops/audit", headers=operator)
    assert log.status_code == 200
    entries = log.json()["items"]
    assert [(e["action"], e["target"]) for e in entries] == [
        ("POST /products/{product_id}/submit", {"product_id": created["id"]}),
        ("POST /products", {"created": f"/products/{created['id']}"}),
    ]
    assert {e["organization_id"] for e in entries} == {str(partner_id)}
    assert entries[1]["correlation_id"] == "audit-me"
    assert (await client.get("/ops/audit", headers=partner)).status_code == 403


async def test_a_taken_slug_is_a_conflict(
    client: httpx.AsyncClient, partner: dict[str, str], new_product: Callable[..., dict]
) -> None:
    body = new_product()
    await client.post("/products", json=body, headers={**partner, **key()})
    response = await client.post("/products", json=body, headers={**partner, **key()})
    assert response.status_code == 409
    assert response.json()["code"] == "slug_taken"


async def test_a_repeated_creation_with_its_key_creates_one_product(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    new_product: Callable[..., dict],
    database_url: str,
) -> None:
    body, headers = new_product(), {**partner, **key()}
    first = await client.post("/products", json=body, headers=headers)
    again = await client.post("/products", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert await scalar(database_url, "SELECT count(*) FROM products") == 1


BAD_BODIES = {
    "unknown field": {"featured": True},
    "wrong type": {"name": 42},
    "bad slug": {"slug": "Not A Slug!"},
    "no plans": {"plans": []},
    "float-precision price": {
        "plans": [{"code": "a", "name": "A", "pricing_unit": "seat", "unit_price": "1.005"}]
    },
    "negative price": {
        "plans": [{"code": "a", "name": "A", "pricing_unit": "seat", "unit_price": "-1.00"}]
    },
    "unknown unit": {
        "plans": [{"code": "a", "name": "A", "pricing_unit": "kg", "unit_price": "1.00"}]
    },
    "min above max": {
        "plans": [
            {
                "code": "a",
                "name": "A",
                "pricing_unit": "seat",
                "unit_price": "1.00",
                "min_quantity": 10,
                "max_quantity": 5,
            }
        ]
    },
    "duplicate plan codes": {
        "plans": [{"code": "a", "name": "A", "pricing_unit": "seat", "unit_price": "1.00"}] * 2
    },
    "unknown plan field": {
        "plans": [
            {
                "code": "a",
                "name": "A",
                "pricing_unit": "seat",
                "unit_price": "1.00",
                "discount": "50%",
            }
        ]
    },
}


async def test_bad_input_is_a_problem_and_changes_nothing(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    new_product: Callable[..., dict],
    database_url: str,
) -> None:
    for case, overrides in BAD_BODIES.items():
        response = await client.post(
            "/products", json=new_product(**overrides), headers={**partner, **key()}
        )
        assert response.status_code == 422, case
        assert response.headers["content-type"] == "application/problem+json", case
        assert response.json()["invalid-params"], case

    oversized = new_product(short_description="я" * 100_000)
    response = await client.post("/products", json=oversized, headers={**partner, **key()})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"

    not_a_uuid = await client.get("/products/not-a-uuid", headers=partner)
    assert not_a_uuid.status_code == 422
    for table in ("products", "plans", "outbox_messages", "idempotency_keys"):
        assert await scalar(database_url, f"SELECT count(*) FROM {table}") == 0, table
