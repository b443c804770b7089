"""The moderation workflow, products' details and scheduled price changes through the API, over
a real PostgreSQL (and the broker for events)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from catalog.main import SERVICE
from catalog.settings import CatalogSettings
from vitrina_contracts.envelope import CloudEvent, decode_event
from vitrina_contracts.events.catalog import (
    PlanPriceScheduled,
    ProductPublished,
    ProductRetired,
    ProductRevised,
)
from vitrina_contracts.layout import event_schema_path
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client
from vitrina_kit.testing.database import query
from vitrina_kit.testing.kafka import read_topic

CONTRACTS = Path(__file__).parents[4] / "contracts"


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def valid_against_contract(envelope: dict[str, Any]) -> bool:
    schema = json.loads((CONTRACTS / event_schema_path(envelope["type"])).read_text())
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [error.message for error in validator.iter_errors(envelope)]
    assert errors == []
    return True


async def create(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> str:
    response = await client.post("/products", json=body, headers={**headers, **key()})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def act(
    client: httpx.AsyncClient,
    product_id: str,
    action: str,
    headers: dict[str, str],
    expect: int = 200,
    **body: Any,
) -> dict[str, Any]:
    response = await client.post(
        f"/products/{product_id}/{action}", headers=headers, json=body or None
    )
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


async def edit(
    client: httpx.AsyncClient,
    product_id: str,
    headers: dict[str, str],
    expect: int = 200,
    **changes: Any,
) -> dict[str, Any]:
    response = await client.patch(f"/products/{product_id}", json=changes, headers=headers)
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


async def published(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    body: dict[str, Any],
) -> str:
    product_id = await create(client, partner, body)
    await act(client, product_id, "submit", partner)
    await act(client, product_id, "approve", operator)
    return product_id


async def test_a_rejected_draft_is_revised_resubmitted_and_published(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    product_id = await create(client, partner, new_product())

    draft = await edit(client, product_id, partner, name="Облачный сервер Про")
    assert (draft["status"], draft["name"]) == ("draft", "Облачный сервер Про")
    assert draft["pending_revision"]["number"] == 1
    assert draft["live_revision"] is None
    submitted = await act(client, product_id, "submit", partner)
    assert submitted["status"] == "submitted"
    # Under review the partner cannot change what the operator is reading.
    locked = await client.patch(f"/products/{product_id}", json={"name": "X"}, headers=partner)
    assert locked.status_code == 409
    assert locked.headers["content-type"] == "application/problem+json"
    assert locked.json()["code"] == "product_cannot_be_edited"

    rejected = await act(
        client, product_id, "reject", operator, reason="Уточните характеристики серверов."
    )
    assert rejected["status"] == "rejected"
    assert rejected["pending_revision"]["rejection_reason"] == "Уточните характеристики серверов."
    again = await act(client, product_id, "submit", partner, expect=409)
    assert again["code"] == "product_cannot_be_submitted"

    revised = await edit(client, product_id, partner, short_description="2–64 vCPU, SSD.")
    assert revised["status"] == "revised"
    assert (await act(client, product_id, "submit", partner))["status"] == "submitted"
    approved = await act(client, product_id, "approve", operator)

    assert approved["status"] == "published"
    assert approved["version"] == 1
    assert approved["live_revision"] == 1
    assert approved["pending_revision"] is None
    assert (approved["name"], approved["short_description"]) == (
        "Облачный сервер Про",
        "2–64 vCPU, SSD.",
    )
    history = (await client.get(f"/products/{product_id}/revisions", headers=partner)).json()
    assert [(r["number"], r["status"]) for r in history] == [(1, "approved")]
    assert history[0]["decided_at"] is not None
    events = await query(database_url, "SELECT event_type FROM outbox_messages")
    assert [row.event_type for row in events] == ["ru.vitrina.catalog.product.published"]


async def test_a_published_product_is_revised_while_its_live_revision_stays(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    product_id = await published(client, partner, operator, new_product())

    opened = await edit(client, product_id, partner, name="Облачный сервер 2.0")
    assert opened["status"] == "published"
    assert opened["name"] == "Облачный сервер"  # the live revision is untouched
    assert opened["pending_revision"]["number"] == 2
    assert opened["pending_revision"]["status"] == "draft"
    assert opened["pending_revision"]["content"]["name"] == "Облачный сервер 2.0"
    more = await edit(client, product_id, partner, short_description="Новое описание")
    assert more["pending_revision"]["number"] == 2
    assert more["pending_revision"]["content"]["name"] == "Облачный сервер 2.0"
    await act(client, product_id, "submit", partner)
    rejected = await act(client, product_id, "reject", operator, reason="Нет")
    assert (rejected["status"], rejected["name"]) == ("published", "Облачный сервер")
    assert (await edit(client, product_id, partner, name="Облачный сервер 2.1"))[
        "pending_revision"
    ]["status"] == "revised"
    await act(client, product_id, "submit", partner)
    revised = await act(client, product_id, "approve", operator)

    assert (revised["status"], revised["version"], revised["live_revision"]) == ("published", 2, 2)
    assert (revised["name"], revised["short_description"]) == (
        "Облачный сервер 2.1",
        "Новое описание",
    )
    history = (await client.get(f"/products/{product_id}/revisions", headers=partner)).json()
    assert [(r["number"], r["status"]) for r in history] == [(2, "approved"), (1, "approved")]
    assert history[0]["rejection_reason"] == "Нет"  # why it took two rounds stays on record
    outbox = await query(
        database_url, "SELECT event_type, payload FROM outbox_messages ORDER BY id"
    )
    assert [row.event_type for row in outbox] == [
        "ru.vitrina.catalog.product.published",
        "ru.vitrina.catalog.product.revised",
    ]
    event = decode_event(CloudEvent.from_json_bytes(outbox[1].payload))
    assert isinstance(event, ProductRevised)
    assert (event.product.name, event.product.version) == ("Облачный сервер 2.1", 2)


async def test_retiring_keeps_the_product_readable_and_withdraws_its_pending_revision(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    by_partner = await published(client, partner, operator, new_product())
    by_operator = await published(client, partner, operator, new_product())
    await edit(client, by_partner, partner, name="Никогда не увидят")
    await act(client, by_partner, "submit", partner)

    retired = await act(client, by_partner, "retire", partner)
    assert (retired["status"], retired["version"], retired["name"]) == (
        "retired",
        2,
        "Облачный сервер",
    )
    assert retired["pending_revision"] is None
    assert (await act(client, by_operator, "retire", operator))["status"] == "retired"

    assert (await client.get(f"/products/{by_partner}", headers=partner)).json()["status"] == (
        "retired"
    )
    history = (await client.get(f"/products/{by_partner}/revisions", headers=partner)).json()
    assert [r["status"] for r in history] == ["withdrawn", "approved"]
    for action, code in (
        ("retire", "product_cannot_be_retired"),
        ("submit", "product_cannot_be_submitted"),
        ("approve", "product_cannot_be_approved"),
    ):
        headers = operator if action == "approve" else partner
        assert (await act(client, by_partner, action, headers, expect=409))["code"] == code
    assert (await edit(client, by_partner, partner, expect=409, name="Снова"))["code"] == (
        "product_cannot_be_edited"
    )
    retirements = await query(
        database_url,
        "SELECT count(*) AS n FROM outbox_messages "
        "WHERE event_type = 'ru.vitrina.catalog.product.retired'",
    )
    assert retirements[0].n == 2


async def test_wrong_transitions_are_conflicts_that_change_nothing(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    product_id = await create(client, partner, new_product())
    for action, body, code in (
        ("approve", {}, "product_cannot_be_approved"),
        ("reject", {"reason": "Нет"}, "product_cannot_be_rejected"),
        ("retire", {}, "product_cannot_be_retired"),
    ):
        headers = partner if action == "retire" else operator
        problem = await act(client, product_id, action, headers, expect=409, **body)
        assert problem["code"] == code
        assert problem["product_status"] == "draft"
    [state] = await query(
        database_url,
        "SELECT p.status, p.version, r.status AS revision FROM products p "
        "JOIN product_revisions r ON r.product_id = p.id",
    )
    assert tuple(state) == ("draft", 0, "draft")
    assert (await query(database_url, "SELECT count(*) AS n FROM outbox_messages"))[0].n == 0


async def test_only_the_operator_moderates(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    token_issuer: TestIssuer,
    partner_id: uuid.UUID,
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    product_id = await create(client, partner, new_product())
    await act(client, product_id, "submit", partner)
    # A partner's token never carries catalog:moderate, even if it asks for it.
    greedy = token_issuer.headers(
        partner_id, "partner", {"catalog:read", "catalog:write", "catalog:moderate"}
    )
    for headers in (partner, greedy):
        refused = await act(client, product_id, "approve", headers, expect=403)
        assert refused["code"] == "insufficient_scope"
        await act(client, product_id, "reject", headers, expect=403, reason="Сам себе")
    assert (await query(database_url, "SELECT status FROM products"))[0].status == "submitted"


async def test_bad_edits_and_rejections_are_problems(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    product_id = await create(client, partner, new_product())
    for changes in ({}, {"slug": "new-slug"}, {"name": None}, {"name": ""}, {"price": 1}):
        response = await client.patch(f"/products/{product_id}", json=changes, headers=partner)
        assert response.status_code == 422, changes
        assert response.headers["content-type"] == "application/problem+json"
    await act(client, product_id, "submit", partner)
    for body in ({}, {"reason": ""}, {"reason": "x" * 2001}, {"reason": "ok", "extra": 1}):
        response = await client.post(f"/products/{product_id}/reject", json=body, headers=operator)
        assert response.status_code == 422, body
    [state] = await query(database_url, "SELECT name, status FROM products")
    assert tuple(state) == ("Облачный сервер", "submitted")


async def test_workflow_events_reach_the_broker_and_match_the_contract(
    database_url: str,
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
) -> None:
    settings = CatalogSettings(database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap)
    app = build_app(SERVICE, settings, key_source=token_issuer.key_source, with_workers=True)
    async with app_client(app) as client:
        product_id = await published(client, partner, operator, new_product())
        await edit(client, product_id, partner, name="Облачный сервер 2")
        await act(client, product_id, "submit", partner)
        await act(client, product_id, "approve", operator)
        await act(client, product_id, "retire", partner)
        records = await read_topic(kafka_bootstrap, "catalog.products", expected=3)

    envelopes = [json.loads(record.value) for record in records]
    assert all(valid_against_contract(envelope) for envelope in envelopes)
    assert {record.key for record in records} == {product_id.encode()}
    assert [e["aggregateversion"] for e in envelopes] == [1, 2, 3]
    events = [decode_event(CloudEvent.model_validate(e)) for e in envelopes]
    assert [type(e) for e in events] == [ProductPublished, ProductRevised, ProductRetired]
    snapshots = [
        e.product
        for e in events
        if isinstance(e, ProductPublished | ProductRevised | ProductRetired)
    ]
    assert [(s.status, s.name, s.version) for s in snapshots] == [
        ("published", "Облачный сервер", 1),
        ("published", "Облачный сервер 2", 2),
        ("retired", "Облачный сервер 2", 3),
    ]


DETAILS: dict[str, Any] = {
    "description": "Виртуальные серверы на платформе оператора.\n\nSLA 99,95 %, поддержка 24/7.",
    "tags": ["облако", "vps", "iaas"],
    "media": [
        {"kind": "image", "url": "https://cdn.example.ru/cloud/screen.png", "title": "Панель"},
        {"kind": "document", "url": "https://cdn.example.ru/cloud/sla.pdf"},
    ],
    "documentation_url": "https://docs.example.ru/cloud",
    "support": {"email": "support@example.ru", "phone": "+7 (495) 123-45-67", "hours": "24/7"},
}


def today() -> date:
    return datetime.now(UTC).date()


async def test_details_are_kept_shown_and_published(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    product_id = await published(client, partner, operator, new_product(**DETAILS))

    product = (await client.get(f"/products/{product_id}", headers=partner)).json()
    assert {field: product[field] for field in DETAILS} == {
        **DETAILS,
        "media": [DETAILS["media"][0], {**DETAILS["media"][1], "title": ""}],
        "support": {**DETAILS["support"], "url": None},
    }
    [row] = await query(database_url, "SELECT payload FROM outbox_messages")
    envelope = json.loads(row.payload)
    assert valid_against_contract(envelope)
    event = decode_event(CloudEvent.model_validate(envelope))
    assert isinstance(event, ProductPublished)
    assert event.product.tags == ("облако", "vps", "iaas")
    assert event.product.documentation_url == "https://docs.example.ru/cloud"
    assert event.product.support is not None
    assert event.product.support.email == "support@example.ru"
    assert event.product.revision == 1


async def test_bad_details_are_problems_and_change_nothing(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    for case, overrides in {
        "description too long": {"description": "я" * 20_001},
        "plain http link": {"documentation_url": "http://docs.example.ru"},
        "not a link": {"media": [{"kind": "image", "url": "javascript:alert(1)"}]},
        "unknown media kind": {"media": [{"kind": "song", "url": "https://x.ru/a.mp3"}]},
        "duplicate tags": {"tags": ["облако", "Облако"]},
        "too many tags": {"tags": [f"t{i}" for i in range(21)]},
        "bad email": {"support": {"email": "not-an-email"}},
        "unknown support field": {"support": {"telegram": "@x"}},
        "absurd price": {
            "plans": [{"code": "a", "name": "A", "pricing_unit": "seat", "unit_price": "1e12"}]
        },
    }.items():
        response = await client.post(
            "/products",
            json=new_product(**overrides),
            headers={**partner, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 422, (case, response.text)
        assert response.headers["content-type"] == "application/problem+json"

    # A 10 MB description never reaches the application: the body limit answers first.
    huge = new_product(description="x" * 10 * 1024 * 1024)
    response = await client.post(
        "/products", json=huge, headers={**partner, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert (await query(database_url, "SELECT count(*) AS n FROM products"))[0].n == 0


async def test_details_of_a_published_product_change_through_a_revision(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
) -> None:
    product_id = await published(client, partner, operator, new_product(**DETAILS))
    response = await client.patch(
        f"/products/{product_id}",
        json={"tags": ["облако"], "support": None, "documentation_url": None},
        headers=partner,
    )
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == DETAILS["tags"]  # the live revision is untouched
    await act(client, product_id, "submit", partner)
    revised = await act(client, product_id, "approve", operator)
    assert (revised["tags"], revised["support"], revised["documentation_url"]) == (
        ["облако"],
        None,
        None,
    )
    assert revised["description"] == DETAILS["description"]


async def test_a_price_change_is_scheduled_no_sooner_than_the_notice_period(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    product_id = await published(client, partner, operator, new_product())
    plan = (await client.get(f"/products/{product_id}", headers=partner)).json()["plans"][0]
    url = f"/products/{product_id}/plans/{plan['id']}/price-changes"

    too_soon = await client.post(
        url,
        json={"unit_price": "1390.00", "effective_on": str(today() + timedelta(days=29))},
        headers=partner,
    )
    assert too_soon.status_code == 422
    assert too_soon.json()["code"] == "price_change_too_soon"
    assert too_soon.json()["earliest_effective_on"] == str(today() + timedelta(days=30))
    effective_on = today() + timedelta(days=30)
    scheduled = await client.post(
        url, json={"unit_price": "1390.00", "effective_on": str(effective_on)}, headers=partner
    )

    assert scheduled.status_code == 200, scheduled.text
    shown = scheduled.json()["plans"][0]
    assert (shown["unit_price"], shown["next_unit_price"], shown["next_price_effective_on"]) == (
        "1250.00",
        "1390.00",
        str(effective_on),
    )
    assert scheduled.json()["version"] == 2
    outbox = await query(database_url, "SELECT payload FROM outbox_messages ORDER BY id")
    envelope = json.loads(outbox[-1].payload)
    assert valid_against_contract(envelope)
    assert envelope["aggregateversion"] == 2
    event = decode_event(CloudEvent.model_validate(envelope))
    assert isinstance(event, PlanPriceScheduled)
    assert (str(event.plan_id), str(event.unit_price), event.effective_on) == (
        plan["id"],
        "1390.00",
        effective_on,
    )
    assert event.product_version == 2
    # The snapshot of the next revision carries the scheduled price for projections.
    await client.patch(f"/products/{product_id}", json={"name": "Сервер"}, headers=partner)
    await act(client, product_id, "submit", partner)
    await act(client, product_id, "approve", operator)
    revised = json.loads(
        (await query(database_url, "SELECT payload FROM outbox_messages ORDER BY id"))[-1].payload
    )
    assert revised["data"]["product"]["plans"][0]["next_unit_price"] == "1390.00"


async def test_price_changes_refused(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    other_partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    draft_id = await create(client, partner, new_product())
    live_id = await published(client, partner, operator, new_product())
    draft_plan = (await client.get(f"/products/{draft_id}", headers=partner)).json()["plans"][0]
    live_plan = (await client.get(f"/products/{live_id}", headers=partner)).json()["plans"][0]
    later = str(today() + timedelta(days=60))
    good = {"unit_price": "999.00", "effective_on": later}

    def change(product_id: str, plan_id: str) -> str:
        return f"/products/{product_id}/plans/{plan_id}/price-changes"

    cases = [
        (change(draft_id, draft_plan["id"]), good, partner, 409),
        (change(live_id, live_plan["id"]), good, other_partner, 404),
        (change(live_id, draft_plan["id"]), good, partner, 404),  # a plan of another product
        (change(live_id, str(uuid.uuid4())), good, partner, 404),
        (change(live_id, live_plan["id"]), {**good, "unit_price": "-1.00"}, partner, 422),
        (change(live_id, live_plan["id"]), {**good, "unit_price": "1250.00"}, partner, 422),
        (change(live_id, live_plan["id"]), {**good, "discount": 1}, partner, 422),
        (change(live_id, live_plan["id"]), {"unit_price": "999.00"}, partner, 422),
    ]
    for url, body, headers, status in cases:
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == status, (url, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await query(database_url, "SELECT count(*) AS n FROM outbox_messages"))[0].n == 1
    prices = await query(database_url, "SELECT next_unit_price FROM plans")
    assert {row.next_unit_price for row in prices} == {None}


async def test_plans_of_a_draft_are_added_changed_and_removed(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
) -> None:
    product_id = await create(client, partner, new_product())
    plan = {"code": "pro", "name": "Про", "pricing_unit": "seat", "unit_price": "990.00"}
    added = await client.post(
        f"/products/{product_id}/plans", json=plan, headers={**partner, **key()}
    )
    assert added.status_code == 201, added.text
    plan_id = added.json()["id"]
    assert added.headers["location"] == f"/products/{product_id}/plans/{plan_id}"
    changed = await client.patch(
        f"/products/{product_id}/plans/{plan_id}",
        json={"unit_price": "1090.00", "max_quantity": 50, "trial_days": 30},
        headers=partner,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["unit_price"], changed.json()["max_quantity"]) == ("1090.00", 50)
    first = (await client.get(f"/products/{product_id}", headers=partner)).json()["plans"][0]
    removed = await client.delete(f"/products/{product_id}/plans/{first['id']}", headers=partner)
    assert removed.status_code == 204

    product = (await client.get(f"/products/{product_id}", headers=partner)).json()
    assert [(p["code"], p["unit_price"]) for p in product["plans"]] == [
        ("backup", "3.50"),
        ("pro", "1090.00"),
    ]
    # Once published, plans are what subscribers bought: only a scheduled price change remains.
    await act(client, product_id, "submit", partner)
    await act(client, product_id, "approve", operator)
    frozen = await client.delete(f"/products/{product_id}/plans/{plan_id}", headers=partner)
    assert frozen.status_code == 409
    assert frozen.json()["code"] == "plans_fixed_once_published"


async def test_bad_plan_changes_are_problems_and_change_nothing(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    other_partner: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    mine = await create(client, partner, new_product())
    theirs = await create(client, other_partner, new_product())
    my_plan = (await client.get(f"/products/{mine}", headers=partner)).json()["plans"][0]["id"]
    their_plan = (await client.get(f"/products/{theirs}", headers=other_partner)).json()["plans"][
        0
    ]["id"]
    plan = {"code": "x", "name": "X", "pricing_unit": "seat", "unit_price": "1.00"}

    for method, url, body, status in (
        ("POST", f"/products/{theirs}/plans", plan, 404),
        ("PATCH", f"/products/{theirs}/plans/{their_plan}", {"name": "Чужой"}, 404),
        ("DELETE", f"/products/{theirs}/plans/{their_plan}", None, 404),
        ("PATCH", f"/products/{mine}/plans/{their_plan}", {"name": "Чужой"}, 404),
        ("DELETE", f"/products/{mine}/plans/{their_plan}", None, 404),
        ("POST", f"/products/{mine}/plans", {**plan, "code": "start"}, 409),
        ("POST", f"/products/{mine}/plans", {**plan, "unit_price": "-5.00"}, 422),
        ("POST", f"/products/{mine}/plans", {**plan, "min_quantity": 9, "max_quantity": 3}, 422),
        ("PATCH", f"/products/{mine}/plans/{my_plan}", {"min_quantity": 100}, 422),
        ("PATCH", f"/products/{mine}/plans/{my_plan}", {"code": "renamed"}, 422),
        ("PATCH", f"/products/{mine}/plans/{my_plan}", {"unit_price": None}, 422),
    ):
        response = await client.request(method, url, json=body, headers={**partner, **key()})
        assert response.status_code == status, (method, url, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    plans = await query(
        database_url, "SELECT code, unit_price, min_quantity FROM plans ORDER BY product_id, code"
    )
    assert sorted((row.code, str(row.unit_price), row.min_quantity) for row in plans) == [
        ("backup", "3.50", 1),
        ("backup", "3.50", 1),
        ("start", "1250.00", 1),
        ("start", "1250.00", 1),
    ]


async def test_partners_list_their_own_products_in_every_status_page_by_page(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    other_partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
) -> None:
    mine = [await create(client, partner, new_product()) for _ in range(3)]
    await act(client, mine[1], "submit", partner)
    theirs = await create(client, other_partner, new_product())

    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/products", params=params, headers=partner)).json()
        seen += [(item["id"], item["status"]) for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == [(mine[0], "draft"), (mine[1], "submitted"), (mine[2], "draft")]
    submitted = await client.get("/products", params={"status": "submitted"}, headers=partner)
    assert [item["id"] for item in submitted.json()["items"]] == [mine[1]]
    everything = (await client.get("/products", headers=operator)).json()["items"]
    assert {item["id"] for item in everything} == {*mine, theirs}
    garbage = await client.get("/products", params={"cursor": "bm90LWpzb24"}, headers=partner)
    assert garbage.status_code == 422
    assert garbage.json()["code"] == "invalid_cursor"


async def test_the_operator_works_through_the_moderation_queue(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    other_partner: dict[str, str],
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
) -> None:
    first = await create(client, partner, new_product())
    second = await create(client, other_partner, new_product())
    live = await published(client, partner, operator, new_product())
    await create(client, partner, new_product())  # a draft: not the operator's business yet
    await act(client, first, "submit", partner)
    await act(client, second, "submit", other_partner)
    await edit(client, live, partner, name="Новая редакция")
    await act(client, live, "submit", partner)

    queue = await client.get("/moderation/queue", headers=operator)
    assert queue.status_code == 200, queue.text
    assert [item["id"] for item in queue.json()["items"]] == [first, second, live]
    assert queue.json()["items"][2]["pending_revision"]["content"]["name"] == "Новая редакция"
    await act(client, first, "approve", operator)
    await act(client, second, "reject", operator, reason="Нет описания")
    after = (await client.get("/moderation/queue", headers=operator)).json()
    assert [item["id"] for item in after["items"]] == [live]
    refused = await client.get("/moderation/queue", headers=partner)
    assert refused.status_code == 403
