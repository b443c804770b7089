"""Importing statements through the API, over a real database: incoming payments to the
operator's account are published once as ``bank_payment.imported`` (validated against the
contract), however many statements list them; a malformed file imports nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from vitrina_contracts.layout import event_schema_path
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.testing import TestIssuer
from vitrina_kit.testing.database import query

HERE = Path(__file__).parent
# Read once: the files are small, and the tests are async.
FIRST = (HERE / "data" / "vitrina_operator_2026-12-01_02.txt").read_bytes()
OVERLAPPING = (HERE / "data" / "vitrina_operator_2026-12-02_03.txt").read_bytes()
TECHNOSFERA = (HERE.parent / "data" / "bank" / "andrey9129_testgit_kl_to_1c.txt").read_bytes()
ROGA = (HERE.parent / "data" / "bank" / "dronm_clbnk_kl_to_1c.txt").read_bytes()
CONTRACTS = Path(__file__).parents[4] / "contracts"


async def upload(
    client: httpx.AsyncClient, statement: bytes, *, key: str | None = None
) -> httpx.Response:
    return await client.post(
        "/bank-statements",
        content=statement,
        headers={
            "Content-Type": "application/octet-stream",
            "Idempotency-Key": key or uuid.uuid4().hex,
        },
    )


async def published(database_url: str) -> list[dict[str, Any]]:
    """The bank_payment.imported events in the outbox, each valid against its contract."""
    rows = await query(database_url, "SELECT payload FROM outbox_messages ORDER BY id")
    events = [json.loads(row.payload) for row in rows]
    for event in events:
        schema = json.loads((CONTRACTS / event_schema_path(event["type"])).read_text())
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        assert [error.message for error in validator.iter_errors(event)] == []
    return [e for e in events if e["type"] == "ru.vitrina.integrations.bank_payment.imported"]


async def test_incoming_payments_are_published_with_their_exact_amounts(
    client: httpx.AsyncClient, database_url: str
) -> None:
    response = await upload(client, FIRST)

    assert response.status_code == 201, response.text
    outcome = response.json()
    assert (
        outcome["documents"],
        outcome["imported"],
        outcome["duplicates"],
        outcome["skipped"],
    ) == (3, 2, 0, 1)
    assert response.headers["Location"] == f"/bank-statements/{outcome['import_id']}"
    payments = [event["data"]["bank_payment"] for event in await published(database_url)]
    assert [(p["number"], p["amount"], p["paid_on"]) for p in payments] == [
        ("318", "12200.00", "2026-12-01"),
        ("57", "3050.50", "2026-12-02"),
    ]
    romashka, entrepreneur = payments
    assert romashka["payer_inn"] == "5012345672"
    assert romashka["payer_kpp"] == "501201001"
    assert romashka["payer_account"] == "40702810900000012345"
    assert romashka["payer_bank_bic"] == "044525593"
    assert (
        romashka["purpose"]
        == "Оплата по счету № СЧ-2026-000123 от 01.12.2026, в т.ч. НДС 22% - 2200.00"
    )
    assert entrepreneur["payer_inn"] == "770708389324"
    assert entrepreneur["payer_kpp"] is None  # «0» on the order: an entrepreneur has none
    assert sum(Decimal(p["amount"]) for p in payments) == Decimal("15250.50")


async def test_a_payment_listed_twice_is_published_once(
    client: httpx.AsyncClient, database_url: str
) -> None:
    await upload(client, FIRST)

    again = (await upload(client, FIRST)).json()
    overlapping = (await upload(client, OVERLAPPING)).json()

    assert (again["imported"], again["duplicates"], again["skipped"]) == (0, 2, 1)
    assert (overlapping["imported"], overlapping["duplicates"], overlapping["skipped"]) == (1, 1, 1)
    numbers = [e["data"]["bank_payment"]["number"] for e in await published(database_url)]
    assert numbers == ["318", "57", "319"]
    ids = {e["data"]["bank_payment"]["bank_payment_id"] for e in await published(database_url)}
    assert len(ids) == 3

    history = (await client.get("/bank-statements")).json()["items"]
    assert [item["imported"] for item in history] == [1, 0, 2]  # newest first
    detail = (await client.get(f"/bank-statements/{overlapping['import_id']}")).json()
    assert [(p["number"], p["amount"]) for p in detail["payments"]] == [("319", "24400.00")]


async def test_the_same_upload_retried_with_its_key_replays_the_answer(
    client: httpx.AsyncClient, database_url: str
) -> None:
    first = await upload(client, FIRST, key="statement-0312")
    retried = await upload(client, FIRST, key="statement-0312")

    assert retried.status_code == 201
    assert retried.json() == first.json()
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert len(await published(database_url)) == 2


async def test_a_form_upload_is_read_too(client: httpx.AsyncClient, database_url: str) -> None:
    response = await client.post(
        "/bank-statements",
        files={"file": ("kl_to_1c.txt", FIRST, "text/plain")},
        headers={"Idempotency-Key": "form"},
    )

    assert response.status_code == 201, response.text
    assert response.json()["file_name"] == "kl_to_1c.txt"
    assert response.json()["imported"] == 2


async def test_a_malformed_file_is_refused_with_its_line_and_nothing_imported(
    client: httpx.AsyncClient, database_url: str
) -> None:
    text = FIRST.decode("cp1251")
    # The second payment's amount is broken: the first (valid) one must not be imported either.
    broken = text.replace("Сумма=3050.50", "Сумма=3 050,50")
    line = broken.splitlines().index("Сумма=3 050,50") + 1

    response = await client.post(
        "/bank-statements",
        content=broken.encode("cp1251"),
        headers={"Idempotency-Key": "broken"},
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "malformed_statement"
    assert problem["line"] == line
    assert f"line {line}" in problem["detail"]
    assert await published(database_url) == []
    assert (await client.get("/bank-statements")).json()["items"] == []


async def test_real_statements_of_an_account_that_only_paid_import_nothing(
    make_client: Callable[..., AsyncIterator[httpx.AsyncClient]], database_url: str
) -> None:
    """The real samples are debits of their own accounts: with no account configured, the
    file's one account is the operator's, and every document is outgoing."""
    async for client in make_client():
        technosfera = (await upload(client, TECHNOSFERA)).json()
        roga = (await upload(client, ROGA)).json()

    assert (technosfera["own_account"], technosfera["documents"]) == ("40702810400000004583", 14)
    assert (technosfera["imported"], technosfera["skipped"]) == (0, 14)
    assert (roga["own_account"], roga["imported"]) == ("40702810000000074935", 0)
    assert await published(database_url) == []


async def test_a_statement_of_another_account_is_refused(client: httpx.AsyncClient) -> None:
    response = await upload(client, TECHNOSFERA)

    assert response.status_code == 422
    assert response.json()["code"] == "statement_of_another_account"


async def test_only_the_operator_imports_statements(
    client: httpx.AsyncClient, token_issuer: TestIssuer
) -> None:
    business = token_issuer.headers(uuid.uuid4(), OrganizationKind.BUSINESS)
    response = await client.post(
        "/bank-statements",
        content=FIRST,
        headers={**business, "Idempotency-Key": "x"},
    )
    assert response.status_code == 403
    assert (await client.get("/bank-statements", headers=business)).status_code == 403
