"""Organizations over the real database: registration, approval, profile, tenancy, events."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from identity.testing import (
    BANK,
    BUSINESS,
    ENTREPRENEUR,
    PARTNER,
    PARTNER_BODY,
    Member,
    bearer,
    get_token,
    idempotency_key,
    organization_body,
    query,
    scalar,
    state,
)
from vitrina_contracts.envelope import CloudEvent, decode_event
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationUpdated
from vitrina_contracts.layout import default_out_dir, event_schema_path


async def events_of(database_url: str, organization_id: str) -> list[CloudEvent]:
    """The organization's events in the outbox, in order, each checked against the contract's
    JSON Schema as committed in contracts/."""
    rows = await query(
        database_url,
        "SELECT event_type, payload, message_key, topic FROM outbox_messages "
        "WHERE message_key = :key ORDER BY id",
        key=organization_id,
    )
    envelopes = []
    for event_type, payload, message_key, topic in rows:
        schema_file = default_out_dir() / event_schema_path(event_type)
        validator = Draft202012Validator(
            json.loads(schema_file.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        errors = [error.message for error in validator.iter_errors(json.loads(payload))]
        assert errors == []
        assert (message_key, topic) == (organization_id, "identity.organizations")
        envelopes.append(CloudEvent.from_json_bytes(payload))
    return envelopes


async def register_self(client: httpx.AsyncClient, **overrides: object) -> httpx.Response:
    return await client.post(
        "/organizations/register",
        json=organization_body(**overrides),
        headers=idempotency_key(),
    )


async def test_self_registration_is_pending_and_published(
    client: httpx.AsyncClient, database_url: str
) -> None:
    response = await register_self(client, edo_participant_id="2BM-5012345672-501201001-0042")

    assert response.status_code == 201, response.text
    organization = response.json()
    assert response.headers["location"] == f"/organizations/{organization['id']}"
    assert organization["status"] == "pending"
    assert organization["version"] == 1
    assert organization["bank_details"] == BANK
    [envelope] = await events_of(database_url, organization["id"])
    event = decode_event(envelope)
    assert isinstance(event, OrganizationRegistered)
    assert envelope.tenantid == organization["id"]
    assert envelope.aggregateversion == 1
    assert envelope.source == "/vitrina/identity"
    snapshot = event.organization
    assert str(snapshot.organization_id) == organization["id"]
    assert (snapshot.status, snapshot.kind, snapshot.inn, snapshot.kpp) == (
        "pending",
        "business",
        BUSINESS["inn"],
        BUSINESS["kpp"],
    )
    assert snapshot.bank_details is not None
    assert snapshot.bank_details.settlement_account == BANK["settlement_account"]
    assert snapshot.edo_participant_id == "2BM-5012345672-501201001-0042"
    assert snapshot.version == 1


async def test_the_operator_approves_once_and_every_other_transition_is_a_conflict(
    client: httpx.AsyncClient, operator: dict[str, str], database_url: str
) -> None:
    organization = (await register_self(client)).json()
    path = f"/organizations/{organization['id']}"

    approved = await client.post(f"{path}/approve", headers=operator)
    again = await client.post(f"{path}/approve", headers=operator)
    rejected_after = await client.post(f"{path}/reject", json={"reason": "x" * 5}, headers=operator)

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert approved.json()["version"] == 2
    assert again.status_code == 409
    assert again.json()["code"] == "organization_cannot_be_approved"
    assert rejected_after.status_code == 409
    assert rejected_after.json()["code"] == "organization_cannot_be_rejected"
    _, updated = await events_of(database_url, organization["id"])
    event = decode_event(updated)
    assert isinstance(event, OrganizationUpdated)
    assert event.organization.status == "active"
    assert updated.aggregateversion == 2
    assert updated.tenantid == organization["id"]


async def test_a_rejection_says_why_and_the_applicant_may_apply_again(
    client: httpx.AsyncClient, operator: dict[str, str], database_url: str
) -> None:
    organization = (await register_self(client)).json()
    path = f"/organizations/{organization['id']}"

    rejected = await client.post(
        f"{path}/reject", json={"reason": "ИНН не совпадает с выпиской ЕГРЮЛ"}, headers=operator
    )
    approve_after = await client.post(f"{path}/approve", headers=operator)
    reapplied = await register_self(client)

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "ИНН не совпадает с выпиской ЕГРЮЛ"
    assert approve_after.status_code == 409
    assert reapplied.status_code == 201
    _, updated = await events_of(database_url, organization["id"])
    event = decode_event(updated)
    assert isinstance(event, OrganizationUpdated)
    assert event.organization.status == "rejected"
    assert event.organization.rejection_reason == "ИНН не совпадает с выпиской ЕГРЮЛ"


async def test_the_operator_registers_active_organizations(
    client: httpx.AsyncClient, operator: dict[str, str], database_url: str
) -> None:
    response = await client.post(
        "/organizations",
        json=organization_body(**PARTNER_BODY),
        headers={**operator, **idempotency_key()},
    )

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "active"
    assert response.json()["kind"] == "partner"
    [envelope] = await events_of(database_url, response.json()["id"])
    event = decode_event(envelope)
    assert isinstance(event, OrganizationRegistered)
    assert event.organization.status == "active"


async def test_an_entrepreneur_has_a_twelve_digit_inn_no_kpp_and_an_ogrnip(
    client: httpx.AsyncClient,
) -> None:
    response = await register_self(
        client, legal_name="Индивидуальный предприниматель Иванов Иван Иванович", **ENTREPRENEUR
    )
    assert response.status_code == 422  # organization_body carries a KPP: not for an IP

    response = await register_self(
        client,
        legal_name="Индивидуальный предприниматель Иванов Иван Иванович",
        kpp=None,
        **ENTREPRENEUR,
    )
    assert response.status_code == 201, response.text
    assert response.json()["kpp"] is None
    assert response.json()["ogrn"] == ENTREPRENEUR["ogrn"]


INVALID = [
    ("INN check digit", {"inn": "5012345673"}, "body.inn"),
    ("INN length", {"inn": "50123456721"}, "body.inn"),
    ("second INN check digit", {"inn": "500100732258", "kpp": None}, "body.inn"),
    ("OGRN check digit", {"ogrn": "1215000123459"}, "body.ogrn"),
    ("OGRNIP for a legal entity", {"ogrn": ENTREPRENEUR["ogrn"]}, "body.ogrn"),
    ("no KPP for a legal entity", {"kpp": None}, "body.kpp"),
    ("KPP shape", {"kpp": "50120100"}, "body.kpp"),
    (
        "settlement account key",
        {"bank_details": {**BANK, "settlement_account": "40702810038000012345"}},
        "body.bank_details.settlement_account",
    ),
    (
        "account of another bank",
        {"bank_details": {**BANK, "bik": "044525187", "correspondent_account": None}},
        "body.bank_details.settlement_account",
    ),
    (
        "correspondent account key",
        {"bank_details": {**BANK, "correspondent_account": "30101810500000000225"}},
        "body.bank_details.correspondent_account",
    ),
    ("BIK length", {"bank_details": {**BANK, "bik": "04452522"}}, "body.bank_details.bik"),
    ("e-mail", {"contact_email": "buh at romashka"}, "body.contact_email"),
    ("phone", {"contact_phone": "8 (495) 123-45-67"}, "body.contact_phone"),
    ("operator by itself", {"kind": "operator"}, "body.kind"),
    ("unknown field", {"status": "active"}, "body.status"),
    ("EDO id", {"edo_participant_id": "not an id"}, "body.edo_participant_id"),
]


@pytest.mark.parametrize(("case", "overrides", "field"), INVALID, ids=[c[0] for c in INVALID])
async def test_a_wrong_requisite_is_a_422_naming_the_field_and_nothing_is_written(
    client: httpx.AsyncClient,
    database_url: str,
    case: str,
    overrides: dict[str, Any],
    field: str,
) -> None:
    before = await state(database_url)

    response = await register_self(client, **overrides)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    named = [param["name"] for param in response.json()["invalid-params"]]
    assert field in named, named
    assert await state(database_url) == before


async def test_the_same_inn_and_kpp_cannot_register_twice(
    client: httpx.AsyncClient, database_url: str
) -> None:
    first = await register_self(client)
    second = await register_self(client)
    branch = await register_self(client, kpp="501202001")  # another KPP: a branch

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["code"] == "organization_already_registered"
    assert branch.status_code == 201
    assert await scalar(database_url, "SELECT count(*) FROM outbox_messages") == 3  # + operator


async def test_a_repeated_registration_with_its_key_registers_once(
    client: httpx.AsyncClient, database_url: str
) -> None:
    body, headers = organization_body(), idempotency_key()
    first = await client.post("/organizations/register", json=body, headers=headers)
    again = await client.post("/organizations/register", json=body, headers=headers)

    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert (
        await scalar(
            database_url, "SELECT count(*) FROM organizations WHERE inn = :inn", inn=BUSINESS["inn"]
        )
        == 1
    )


async def test_registration_by_token_is_the_operators(
    client: httpx.AsyncClient, business: Member, database_url: str
) -> None:
    before = await state(database_url)
    body = organization_body(**PARTNER_BODY)
    by_business = await client.post(
        "/organizations", json=body, headers={**business.headers, **idempotency_key()}
    )
    anonymous = await client.post("/organizations", json=body, headers=idempotency_key())
    approve = await client.post(f"/organizations/{business.id}/approve", headers=business.headers)

    assert by_business.status_code == 403
    assert anonymous.status_code == 401
    assert approve.status_code == 403
    assert await state(database_url) == before


async def test_each_organization_sees_only_itself(
    client: httpx.AsyncClient, operator: dict[str, str], business: Member, partner: Member
) -> None:
    own = await client.get(f"/organizations/{business.id}", headers=business.headers)
    other = await client.get(f"/organizations/{partner.id}", headers=business.headers)
    unknown = await client.get(f"/organizations/{uuid.uuid4()}", headers=business.headers)
    by_operator = await client.get(f"/organizations/{partner.id}", headers=operator)
    listed = await client.get("/organizations", headers=business.headers)

    assert own.status_code == 200
    assert other.status_code == unknown.status_code == 404
    assert other.json()["code"] == "organization_not_found"
    assert other.json()["detail"] == f"There is no organization {partner.id} you can see."
    assert by_operator.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [business.id]
    assert listed.json()["next_cursor"] is None


async def test_the_operator_pages_through_every_organization(
    client: httpx.AsyncClient, operator: dict[str, str], business: Member, partner: Member
) -> None:
    pending = (await register_self(client, kpp="501203001")).json()
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/organizations", params=params, headers=operator)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    only_pending = await client.get(
        "/organizations", params={"status": "pending"}, headers=operator
    )
    bad_cursor = await client.get("/organizations", params={"cursor": "nope"}, headers=operator)

    assert len(seen) == len(set(seen)) == 4  # the operator's own, business, partner, pending
    assert {business.id, partner.id, pending["id"]} <= set(seen)
    assert pages == 2
    assert [item["id"] for item in only_pending.json()["items"]] == [pending["id"]]
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["invalid-params"][0]["name"] == "query.cursor"


async def test_an_organization_edits_its_profile_and_it_is_published(
    client: httpx.AsyncClient, business: Member, database_url: str
) -> None:
    response = await client.patch(
        f"/organizations/{business.id}",
        json={
            "kpp": "501245001",
            "legal_address": "143900, Московская обл., г. Балашиха, ул. Ленина, д. 1",
            "edo_participant_id": "2BM-5012345672-501245001-0042",
            "contact_phone": None,
        },
        headers=business.headers,
    )
    unchanged = await client.patch(
        f"/organizations/{business.id}", json={"kpp": "501245001"}, headers=business.headers
    )

    assert response.status_code == 200, response.text
    organization = response.json()
    assert organization["kpp"] == "501245001"
    assert organization["contact_phone"] is None
    assert organization["contact_email"] == "buh@romashka.example"  # left out: kept
    assert organization["version"] == 2
    assert unchanged.json()["version"] == 2  # nothing changed, nothing published
    _, updated = await events_of(database_url, business.id)
    event = decode_event(updated)
    assert isinstance(event, OrganizationUpdated)
    assert event.organization.kpp == "501245001"
    assert event.organization.edo_participant_id == "2BM-5012345672-501245001-0042"
    assert event.organization.contact_phone is None
    assert updated.aggregateversion == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kpp": None}, "body.kpp"),
        ({"inn": PARTNER["inn"]}, "body.inn"),
        ({"legal_name": None}, "body.legal_name"),
        ({"bank_details": {**BANK, "settlement_account": "40702810038000012345"}}, None),
    ],
)
async def test_an_invalid_edit_changes_nothing(
    client: httpx.AsyncClient,
    business: Member,
    database_url: str,
    change: dict[str, Any],
    field: str | None,
) -> None:
    before = await state(database_url)
    response = await client.patch(
        f"/organizations/{business.id}", json=change, headers=business.headers
    )

    assert response.status_code == 422, response.text
    if field is not None:
        assert field in [param["name"] for param in response.json()["invalid-params"]]
    assert await state(database_url) == before


async def test_another_organization_cannot_edit_and_a_reader_cannot_write(
    client: httpx.AsyncClient,
    operator: dict[str, str],
    business: Member,
    partner: Member,
    database_url: str,
) -> None:
    reader = (
        await client.post(
            f"/organizations/{business.id}/clients",
            json={"name": "BI", "scopes": ["identity:read"]},
            headers={**business.headers, **idempotency_key()},
        )
    ).json()
    reader_token = await get_token(client, reader["client_id"], reader["client_secret"])
    before = await state(database_url)

    by_partner = await client.patch(
        f"/organizations/{business.id}", json={"short_name": "Чужое"}, headers=partner.headers
    )
    by_reader = await client.patch(
        f"/organizations/{business.id}", json={"short_name": "Новое"}, headers=bearer(reader_token)
    )
    by_operator = await client.patch(
        f"/organizations/{business.id}", json={"short_name": "ООО «Ромашка+»"}, headers=operator
    )

    assert by_partner.status_code == 404
    assert by_reader.status_code == 403
    assert by_operator.status_code == 200
    after = await state(database_url)
    assert after["organizations"] != before["organizations"]  # the operator's edit only
    assert after["outbox"] == before["outbox"] + 1
