"""Billing documents written to the 1C simulator (a real HTTP server) by the sync job, over the
real PostgreSQL: counterparties found, created and updated; documents created once and updated
when re-sent; a lost answer or a crash before the Ref_Key was stored never duplicates; 5xx and
timeouts are retried; a refused login is recorded once, without a storm."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.onec import service
from integrations.onec.models import OneCDocument
from integrations.settings import IntegrationsSettings
from vitrina_contracts.events.billing import BillingDocument
from vitrina_kit.db import transaction

from .conftest import OneC, add_connector, new_closing_document, new_invoice

INVOICES = "Document_СчетНаОплатуПокупателю"
SALES = "Document_РеализацияТоваровУслуг"
COUNTERPARTIES = "Catalog_Контрагенты"


async def record(
    sessions: async_sessionmaker[AsyncSession], kind: str, document: BillingDocument
) -> None:
    async with transaction(sessions) as session:
        await service.record_document(
            session,
            "invoice" if kind == "invoice" else "closing_document",
            document,
            now=datetime.now(UTC),
        )


async def state(sessions: async_sessionmaker[AsyncSession], document_id: uuid.UUID) -> OneCDocument:
    async with transaction(sessions) as session:
        row = await session.get(OneCDocument, document_id)
        assert row is not None
        return row


async def make_due(sessions: async_sessionmaker[AsyncSession], document_id: uuid.UUID) -> None:
    async with transaction(sessions) as session:
        row = await session.get(OneCDocument, document_id)
        assert row is not None
        await service.retry_now(session, row, now=datetime.now(UTC))


async def test_an_invoice_creates_the_counterparty_and_the_invoice_once_and_updates_on_resend(
    client: httpx.AsyncClient,
    onec: OneC,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
) -> None:
    await add_connector(client, onec)
    invoice = new_invoice().invoice
    await record(sessions, "invoice", invoice)

    assert await service.sync_due(sessions, settings) == 1

    [counterparty] = await onec.entities(COUNTERPARTIES)
    assert (counterparty["ИНН"], counterparty["КПП"]) == (invoice.buyer.inn, invoice.buyer.kpp)
    assert counterparty["НаименованиеПолное"] == invoice.buyer.legal_name
    [created] = await onec.entities(INVOICES)
    assert created["Number"] == invoice.number
    assert created["Контрагент_Key"] == counterparty["Ref_Key"]
    assert created["Posted"] is False
    assert created["Комментарий"] == f"Витрина, документ {invoice.document_id}"
    [line] = created["Товары"]
    assert line["СтавкаНДС"] == "НДС20"
    assert line["Сумма"] == float(invoice.lines[0].amount_net)
    row = await state(sessions, invoice.document_id)
    assert (row.status, str(row.ref_key)) == ("synced", created["Ref_Key"])

    # Re-sent with one more seat: the same 1C document changes, nothing is added.
    line0 = invoice.lines[0]
    more = line0.model_copy(
        update={
            "quantity": line0.quantity + 1,
            "amount_net": line0.unit_price * (line0.quantity + 1),
            "vat_amount": line0.unit_price * (line0.quantity + 1) / 5,
            "amount_total": line0.unit_price * (line0.quantity + 1) * 6 / 5,
        }
    )
    resent = invoice.model_copy(
        update={
            "lines": (more,),
            "amount_net": more.amount_net,
            "vat_amount": more.vat_amount,
            "amount_total": more.amount_total,
        }
    )
    await record(sessions, "invoice", resent)
    assert await service.sync_due(sessions, settings) == 1
    [updated] = await onec.entities(INVOICES)
    assert updated["Ref_Key"] == created["Ref_Key"]
    assert updated["Товары"][0]["Количество"] == line0.quantity + 1
    assert len(await onec.entities(COUNTERPARTIES)) == 1
    row = await state(sessions, invoice.document_id)
    assert (row.status, row.revision, row.synced_revision) == ("synced", 2, 2)

    # Re-sent unchanged (a redelivery): nothing to do.
    await record(sessions, "invoice", resent)
    assert await service.sync_due(sessions, settings) == 0


async def test_a_known_counterparty_is_found_and_its_changed_name_updated(
    client: httpx.AsyncClient,
    onec: OneC,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
) -> None:
    await add_connector(client, onec)
    invoice = new_invoice().invoice
    existing = await onec.create(
        COUNTERPARTIES,
        {
            "Description": "Ромашка",
            "НаименованиеПолное": "ООО «Ромашка» (старое наименование)",
            "ИНН": invoice.buyer.inn,
            "КПП": invoice.buyer.kpp,
        },
    )
    # Another branch of the same company (same INN, another KPP) is not this buyer.
    await onec.create(
        COUNTERPARTIES,
        {"Description": "Ромашка, филиал", "ИНН": invoice.buyer.inn, "КПП": "501245001"},
    )
    await record(sessions, "invoice", invoice)
    await service.sync_due(sessions, settings)

    counterparties = await onec.entities(COUNTERPARTIES, **{"$filter": "КПП eq '501201001'"})
    assert [c["Ref_Key"] for c in counterparties] == [existing["Ref_Key"]]
    assert counterparties[0]["НаименованиеПолное"] == invoice.buyer.legal_name
    [created] = await onec.entities(INVOICES)
    assert created["Контрагент_Key"] == existing["Ref_Key"]
    assert len(await onec.entities(COUNTERPARTIES)) == 2


async def test_a_closing_document_becomes_a_posted_sale_updated_in_place_when_resent(
    client: httpx.AsyncClient,
    onec: OneC,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
) -> None:
    await add_connector(client, onec)
    closing = new_closing_document().document
    await record(sessions, "closing_document", closing)
    assert await service.sync_due(sessions, settings) == 1
    [sale] = await onec.entities(SALES)
    assert (sale["Number"], sale["Posted"], sale["ВидОперации"]) == (closing.number, True, "Услуги")
    assert len(sale["Услуги"]) == len(closing.lines)

    await record(
        sessions,
        "closing_document",
        closing.model_copy(update={"issued_on": closing.issued_on - timedelta(days=1)}),
    )
    assert await service.sync_due(sessions, settings) == 1
    [again] = await onec.entities(SALES)
    assert again["Ref_Key"] == sale["Ref_Key"]
    assert again["Date"].startswith((closing.issued_on - timedelta(days=1)).isoformat())


async def test_a_lost_answer_to_the_create_does_not_duplicate(
    client: httpx.AsyncClient,
    onec: OneC,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
) -> None:
    await add_connector(client, onec)
    closing = new_closing_document().document
    await record(sessions, "closing_document", closing)
    # 1C creates the sale, then the answer is lost (a 500 after the work).
    await onec.fault(method="POST", entity_set=SALES, when="after", status=500)

    assert await service.sync_due(sessions, settings) == 1

    [sale] = await onec.entities(SALES)
    row = await state(sessions, closing.document_id)
    assert (row.status, str(row.ref_key)) == ("synced", sale["Ref_Key"])
    assert sale["Posted"] is True


async def test_a_crash_before_the_ref_key_was_stored_does_not_duplicate(
    client: httpx.AsyncClient,
    onec: OneC,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
) -> None:
    """1C holds the invoice (we wrote it, then died before storing its Ref_Key): found by its
    number in its year and updated."""
    await add_connector(client, onec)
    invoice = new_invoice().invoice
    written_before = await onec.create(
        INVOICES, {"Number": invoice.number, "Date": f"{invoice.issued_on}T00:00:00"}
    )
    # The same number a year earlier is another document and stays untouched.
    await onec.create(INVOICES, {"Number": invoice.number, "Date": "2020-03-01T00:00:00"})
    await record(sessions, "invoice", invoice)

    assert await service.sync_due(sessions, settings) == 1

    this_year = await onec.entities(
        INVOICES,
        **{"$filter": f"Number eq '{invoice.number}' and Date ge datetime'2025-01-01T00:00:00'"},
    )
    assert [d["Ref_Key"] for d in this_year] == [written_before["Ref_Key"]]
    assert this_year[0]["СуммаДокумента"] == float(invoice.amount_total)
    assert len(await onec.entities(INVOICES)) == 2
    assert str((await state(sessions, invoice.document_id)).ref_key) == written_before["Ref_Key"]


async def test_5xx_and_timeouts_are_retried_and_nothing_is_lost(
    client: httpx.AsyncClient,
    onec: OneC,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
) -> None:
    await add_connector(client, onec)
    invoice = new_invoice().invoice
    await record(sessions, "invoice", invoice)

    # Within a round: one 500, then one answer slower than the client waits.
    await onec.fault(times=1, status=500)
    await onec.fault(times=1, status=None, delay_seconds=1.5)
    assert await service.sync_due(sessions, settings) == 1
    assert len(await onec.entities(INVOICES)) == 1

    # A whole round of 500s: kept pending with the error, spaced out, then written.
    other = new_invoice().invoice
    await record(sessions, "invoice", other)
    await onec.fault(times=settings.onec_sync_attempts_per_round, status=500)
    assert await service.sync_due(sessions, settings) == 0
    row = await state(sessions, other.document_id)
    assert row.status == "pending"
    assert row.attempts == 1
    assert row.last_error is not None
    assert "500" in row.last_error
    assert row.next_attempt_at is not None
    assert row.next_attempt_at > datetime.now(UTC)
    await make_due(sessions, other.document_id)
    assert await service.sync_due(sessions, settings) == 1
    assert len(await onec.entities(INVOICES)) == 2
    assert (await state(sessions, other.document_id)).last_error is None


async def test_a_wrong_password_is_recorded_once_without_a_retry_storm(
    client: httpx.AsyncClient,
    onec: OneC,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
) -> None:
    await add_connector(client, onec, password="wrong")
    invoices = [new_invoice().invoice for _ in range(3)]
    for invoice in invoices:
        await record(sessions, "invoice", invoice)

    assert await service.sync_due(sessions, settings) == 0

    # One refused request in all: no quick retries, and the other documents of the same
    # connector were not tried in that round.
    assert (await onec.stats()).get("401") == 1
    for invoice in invoices:
        row = await state(sessions, invoice.document_id)
        assert row.status == "pending"
        assert row.last_error is not None
        assert "проверьте логин и пароль" in row.last_error
        assert row.next_attempt_at is not None
        assert row.next_attempt_at > datetime.now(UTC)
    # Nothing is due until later: the next round asks 1C nothing.
    assert await service.sync_due(sessions, settings) == 0
    assert (await onec.stats()).get("401") == 1

    listing = (await client.get("/onec/sync", params={"status": "pending"})).json()
    assert {item["document_id"] for item in listing["items"]} == {
        str(invoice.document_id) for invoice in invoices
    }
    assert all("HTTP 401" in item["last_error"] for item in listing["items"])


async def test_data_1c_refuses_fails_the_document_with_1c_s_words(
    client: httpx.AsyncClient,
    onec: OneC,
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
) -> None:
    await add_connector(client, onec)
    invoice = new_invoice().invoice
    await record(sessions, "invoice", invoice)
    await onec.fault(method="POST", entity_set=INVOICES, status=400)

    assert await service.sync_due(sessions, settings) == 0

    row = await state(sessions, invoice.document_id)
    assert row.status == "failed"
    assert row.last_error is not None
    assert "внутренняя ошибка" in row.last_error
    # The operator retries it once 1C is put right: written, once.
    response = await client.post(f"/onec/sync/{invoice.document_id}/retry")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"
    assert await service.sync_due(sessions, settings) == 1
    assert len(await onec.entities(INVOICES)) == 1
    assert (await client.get(f"/onec/sync/{invoice.document_id}")).json()["status"] == "synced"
