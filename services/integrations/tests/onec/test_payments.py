"""Incoming payments read from the 1C simulator: each published once as bank_payment.imported
(checked against the contract's JSON Schema), also when a bank statement brought it first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from vitrina_contracts.layout import event_schema_path
from vitrina_kit.testing.database import query

from .conftest import OPERATOR_ACCOUNT, OneC, add_connector

CONTRACTS = Path(__file__).parents[4] / "contracts"
STATEMENT = Path(__file__).parents[1] / "bank" / "data" / "vitrina_operator_2026-12-01_02.txt"
RECEIPTS = "Document_ПоступлениеНаРасчетныйСчет"


async def receipt(
    onec: OneC, *, number: str, on: str, amount: float, inn: str, account: str, purpose: str
) -> None:
    """A posted receipt from a customer, as an accountant (or 1C's client-bank) enters it."""
    payer = await onec.create(
        "Catalog_Контрагенты",
        {"Description": "Ромашка", "НаименованиеПолное": 'ООО "Ромашка"', "ИНН": inn},
    )
    payer_account = await onec.create(
        "Catalog_БанковскиеСчета", {"Description": account, "НомерСчета": account}
    )
    own = await onec.entities(
        "Catalog_БанковскиеСчета", **{"$filter": f"НомерСчета eq '{OPERATOR_ACCOUNT}'"}
    )
    own_account = (
        own[0]
        if own
        else await onec.create(
            "Catalog_БанковскиеСчета", {"Description": "Основной", "НомерСчета": OPERATOR_ACCOUNT}
        )
    )
    created = await onec.create(
        RECEIPTS,
        {
            "Date": f"{on}T10:00:00",
            "НомерВходящегоДокумента": number,
            "ДатаВходящегоДокумента": f"{on}T00:00:00",
            "Контрагент_Key": payer["Ref_Key"],
            "СчетКонтрагента_Key": payer_account["Ref_Key"],
            "СчетОрганизации_Key": own_account["Ref_Key"],
            "СуммаДокумента": amount,
            "НазначениеПлатежа": purpose,
        },
    )
    await onec.post(RECEIPTS, created["Ref_Key"])


async def published(database_url: str) -> list[dict[str, Any]]:
    rows = await query(
        database_url,
        "SELECT payload FROM outbox_messages WHERE topic = 'integrations.bank' ORDER BY id",
    )
    envelopes = [json.loads(row.payload) for row in rows]
    for envelope in envelopes:
        schema = json.loads((CONTRACTS / event_schema_path(envelope["type"])).read_text())
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        assert [error.message for error in validator.iter_errors(envelope)] == []
    return envelopes


async def test_payments_are_published_once_also_when_a_statement_brought_them(
    client: httpx.AsyncClient, onec: OneC, database_url: str
) -> None:
    await add_connector(client, onec)
    # The statement lists payment order 318 of 01.12.2026 from ООО «Ромашка»: published by it.
    imported = await client.post(
        "/bank-statements",
        content=STATEMENT.read_bytes(),
        headers={"Content-Type": "application/octet-stream", "Idempotency-Key": "st-1"},
    )
    assert imported.status_code == 201, imported.text
    from_statement = len(await published(database_url))
    # 1C has the same payment (loaded from the same bank) and a newer one.
    await receipt(
        onec,
        number="318",
        on="2026-12-01",
        amount=12200.00,
        inn="5012345672",
        account="40702810900000012345",
        purpose="Оплата по счету № СЧ-2026-000123",
    )
    await receipt(
        onec,
        number="402",
        on="2026-12-05",
        amount=5400.50,
        inn="5012345672",
        account="40702810900000012345",
        purpose="Оплата по счету № СЧ-2026-000140",
    )
    # Not a receipt from a customer: never a payment.
    other = await onec.create(
        RECEIPTS,
        {"Date": "2026-12-05T11:00:00", "ВидОперации": "ПрочееПоступление", "СуммаДокумента": 10},
    )
    await onec.post(RECEIPTS, other["Ref_Key"])

    pulled = await client.post("/onec/payments/pull")

    assert pulled.status_code == 200, pulled.text
    assert {k: pulled.json()[k] for k in ("read", "imported", "duplicates", "skipped")} == {
        "read": 2,
        "imported": 1,
        "duplicates": 1,
        "skipped": 0,
    }
    events = await published(database_url)
    assert len(events) == from_statement + 1
    payment = events[-1]["data"]["bank_payment"]
    assert (payment["number"], payment["amount"], payment["payer_inn"]) == (
        "402",
        "5400.50",
        "5012345672",
    )
    assert payment["payer_account"] == "40702810900000012345"

    again = (await client.post("/onec/payments/pull")).json()
    assert (again["imported"], again["duplicates"]) == (0, 2)
    assert len(await published(database_url)) == from_statement + 1


async def test_a_pull_with_a_refused_login_is_a_clear_error(
    client: httpx.AsyncClient, onec: OneC
) -> None:
    await add_connector(client, onec, password="wrong")
    response = await client.post("/onec/payments/pull")
    assert response.status_code == 502
    assert "проверьте логин и пароль" in response.json()["detail"]
