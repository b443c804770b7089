"""Billing over its real database: subscriptions' events in, documents and events out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.invoices.documents import seller
from billing.invoices.numbering import DocumentKind
from billing.invoices.service import next_number
from billing.runs import service as runs
from billing.settings import BillingSettings
from vitrina_contracts.events.orders import (
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionResumed,
    SubscriptionSuspended,
)
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.db import transaction
from vitrina_kit.testing import TestIssuer
from vitrina_kit.testing.database import query, scalar

SELLER = seller(BillingSettings())

World = Any  # the conftest's fixtures (a conftest is not importable under importlib mode)


def at(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=UTC)


def run(kind: runs.RunKind, on: date) -> runs.RunRequest:
    return runs.RunRequest(kind, on, runs.run_period(kind, on, today=date(2030, 1, 1)))


async def activate(world: Any, snapshot_id: uuid.UUID, snapshot: object, on: date) -> None:
    from vitrina_contracts.events.orders import SubscriptionSnapshot

    assert isinstance(snapshot, SubscriptionSnapshot)
    active = snapshot.model_copy(update={"status": "active", "effective_at": at(on)})
    await world.deliver(SubscriptionActivated(subscription=active), subject=snapshot_id, on=on)


async def test_a_new_subscription_gets_its_first_period_invoiced_prorated_with_vat(
    world: Any, outbox: Any, database_url: str
) -> None:
    customer = await world.customer()
    product = await world.product()

    subscription = await world.subscribe(customer, product, starts_on=date(2025, 11, 17))

    [issued] = await outbox.events("invoice.issued")
    invoice = issued["data"]["invoice"]
    assert invoice["number"] == "СЧ-2025-000001"
    assert invoice["due_on"] == "2025-11-22"  # prepaid, five days
    [line] = invoice["lines"]
    # 14 of November's 30 days of 10 seats × 450.00, VAT 20% (supplied in 2025).
    assert (line["period_start"], line["period_end"]) == ("2025-11-17", "2025-11-30")
    assert (line["amount_net"], line["vat_rate"], line["vat_amount"]) == ("2100.00", 20, "420.00")
    assert invoice["amount_total"] == "2520.00"
    assert line["subscription_id"] == str(subscription.subscription_id)
    assert invoice["buyer"]["organization_id"] == str(customer)
    assert invoice["seller"]["bank_account"]["bic"] == "044525999"
    # Delivered again (a new envelope of the same version): nothing more.
    assert await scalar(database_url, "SELECT count(*) FROM invoices") == 1


async def test_a_first_period_across_the_vat_switch_is_split_by_rate(
    world: Any, outbox: Any
) -> None:
    customer, product = await world.customer(), await world.product(period="year")
    await world.subscribe(customer, product, starts_on=date(2025, 12, 20))

    [issued] = await outbox.events("invoice.issued")
    lines = issued["data"]["invoice"]["lines"]
    assert [(line["period_end"], line["vat_rate"]) for line in lines] == [
        ("2025-12-31", 20),
        ("2026-12-19", 22),
    ]


async def test_renewals_repeated_and_concurrent_issue_one_invoice_per_subscription_period(
    world: Any, sessions: async_sessionmaker[AsyncSession], database_url: str, outbox: Any
) -> None:
    customers = [await world.customer() for _ in range(3)]
    product = await world.product()
    for customer in customers:
        for _ in range(2):
            snapshot = await world.subscribe(customer, product, starts_on=date(2025, 11, 10))
            await activate(world, snapshot.subscription_id, snapshot, date(2025, 11, 11))

    december = run(runs.RunKind.RENEWALS, date(2025, 12, 1))
    first = await runs.execute(sessions, SELLER, december)
    again = await runs.execute(sessions, SELLER, december)
    together = await asyncio.gather(
        runs.execute(sessions, SELLER, december), runs.execute(sessions, SELLER, december)
    )

    assert (first.customers, first.documents_issued) == (3, 3)  # one invoice per customer
    assert again.documents_issued == 0
    assert again.customers == 0
    assert [r.documents_issued for r in together] == [0, 0]
    rows = await query(
        database_url,
        "SELECT subscription_id, count(*) FROM billed_periods"
        " WHERE period_starts_on = '2025-12-01' GROUP BY 1",
    )
    assert len(rows) == 6
    assert {row[1] for row in rows} == {1}
    december_invoices = [
        e
        for e in await outbox.events("invoice.issued")
        if e["data"]["invoice"]["lines"][0]["period_start"] == "2025-12-01"
    ]
    assert len(december_invoices) == 3
    assert {e["data"]["invoice"]["amount_total"] for e in december_invoices} == {"10800.00"}


async def test_two_replicas_renewing_at_once_still_issue_once(
    world: Any, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    product = await world.product()
    for _ in range(8):
        customer = await world.customer()
        snapshot = await world.subscribe(customer, product, starts_on=date(2025, 11, 3))
        await activate(world, snapshot.subscription_id, snapshot, date(2025, 11, 3))
    december = run(runs.RunKind.RENEWALS, date(2025, 12, 1))

    results = await asyncio.gather(*(runs.execute(sessions, SELLER, december) for _ in range(4)))

    assert sum(result.documents_issued for result in results) == 8
    assert (
        await scalar(
            database_url,
            "SELECT count(*) FROM billed_periods WHERE period_starts_on = '2025-12-01'",
        )
        == 8
    )


async def test_numbers_under_concurrent_issuing_have_no_gaps_and_no_duplicates(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    committed: list[str] = []

    async def issue(index: int) -> None:
        try:
            async with transaction(sessions) as session:
                number = await next_number(session, DocumentKind.INVOICE, 2026)
                await asyncio.sleep(0.001)
                if index % 4 == 0:
                    raise RuntimeError("the issue failed after taking a number")
            committed.append(number)
        except RuntimeError:
            pass

    await asyncio.gather(*(issue(index) for index in range(40)))

    assert sorted(committed) == [f"СЧ-2026-{n:06d}" for n in range(1, 31)]


async def test_the_period_close_documents_what_was_rendered(
    world: Any, sessions: async_sessionmaker[AsyncSession], outbox: Any
) -> None:
    customer, product = await world.customer(), await world.product()
    created = await world.subscribe(customer, product, starts_on=date(2025, 12, 1))
    sid = created.subscription_id
    await activate(world, sid, created, date(2025, 12, 2))
    fifteen = created.model_copy(
        update={"status": "active", "quantity": 15, "effective_at": at(date(2026, 1, 16))}
    )
    changed = SubscriptionChanged(
        subscription=fifteen, previous_plan_id=created.plan_id, previous_quantity=10
    )
    await world.deliver(changed, subject=sid, on=date(2026, 1, 16))
    suspended = fifteen.model_copy(
        update={"status": "suspended", "effective_at": at(date(2026, 1, 20))}
    )
    await world.deliver(
        SubscriptionSuspended(subscription=suspended, reason="non_payment"),
        subject=sid,
        on=date(2026, 1, 20),
    )
    resumed = fifteen.model_copy(update={"effective_at": at(date(2026, 1, 25))})
    await world.deliver(
        SubscriptionResumed(subscription=resumed), subject=sid, on=date(2026, 1, 25)
    )

    closed = await runs.execute(sessions, SELLER, run(runs.RunKind.PERIOD_CLOSE, date(2026, 1, 31)))

    assert closed.documents_issued == 1
    [event] = await outbox.events("closing_document.issued")
    document = event["data"]["document"]
    assert (document["period_start"], document["period_end"]) == ("2026-01-01", "2026-01-31")
    assert document["issued_on"] == "2026-01-31"
    assert document["number"] == "УПД-2026-000001"
    # 10 seats to the 15th, 15 seats to the 19th, suspended 20–24, 15 seats from the 25th:
    # additive shares of the month's 31 days, VAT 22% on each line.
    assert [
        (line["period_start"], line["period_end"], line["quantity"], line["amount_net"])
        for line in document["lines"]
    ] == [
        ("2026-01-01", "2026-01-15", 10, "2177.42"),
        ("2026-01-16", "2026-01-19", 15, "870.97"),
        ("2026-01-25", "2026-01-31", 15, "1524.19"),
    ]
    assert {line["vat_rate"] for line in document["lines"]} == {22}
    assert (document["amount_net"], document["vat_amount"]) == ("4572.58", "1005.96")
    assert document["buyer"]["kpp"]
    assert document["seller"]["inn"] == "7704123450"

    again = await runs.execute(sessions, SELLER, run(runs.RunKind.PERIOD_CLOSE, date(2026, 1, 5)))
    assert again.documents_issued == 0


async def test_an_immediate_cancellation_credits_the_unused_days(
    world: Any, outbox: Any, database_url: str
) -> None:
    customer, product = await world.customer(), await world.product()
    created = await world.subscribe(customer, product, starts_on=date(2025, 12, 1))
    cancelled = created.model_copy(
        update={"status": "cancelled", "effective_at": at(date(2025, 12, 11))}
    )

    await world.deliver(
        SubscriptionCancelled(subscription=cancelled, mode="immediate"),
        subject=created.subscription_id,
        on=date(2025, 12, 11),
    )

    [invoice] = await outbox.events("invoice.issued")
    [note] = [e["data"]["credit_note"] for e in await outbox.events("credit_note.issued")]
    assert note["corrected_document_id"] == invoice["data"]["invoice"]["document_id"]
    assert note["corrected_document_number"] == "СЧ-2025-000001"
    assert note["number"] == "УКД-2025-000001"
    [line] = note["lines"]
    # December 11–31: 21 of 31 days, the cumulative share 4500.00 − 1451.61.
    assert (line["period_start"], line["period_end"], line["amount_net"]) == (
        "2025-12-11",
        "2025-12-31",
        "3048.39",
    )
    assert note["amount_total"] == "3658.07"
    # Unpaid, so the credit lowers what is still due on the invoice it corrects.
    [(paid, status)] = await query(database_url, "SELECT amount_paid, status FROM invoices")
    assert (paid, status) == (Decimal("3658.07"), "issued")
    assert await outbox.events("invoice.issued") == [invoice]  # nothing to charge


async def test_more_seats_mid_period_credit_and_charge(world: Any, outbox: Any) -> None:
    customer, product = await world.customer(), await world.product()
    created = await world.subscribe(customer, product, starts_on=date(2025, 12, 1))
    more = created.model_copy(
        update={"status": "active", "quantity": 15, "effective_at": at(date(2025, 12, 16))}
    )
    await world.deliver(
        SubscriptionChanged(
            subscription=more, previous_plan_id=created.plan_id, previous_quantity=10
        ),
        subject=created.subscription_id,
        on=date(2025, 12, 16),
    )
    [note] = [e["data"]["credit_note"] for e in await outbox.events("credit_note.issued")]
    _first, charge = [e["data"]["invoice"] for e in await outbox.events("invoice.issued")]
    assert note["lines"][0]["quantity"] == 10
    assert charge["lines"][0]["quantity"] == 15
    credit, charged = Decimal(note["amount_net"]), Decimal(charge["amount_net"])
    # Sixteen days of five more seats: the charge exceeds the credit by exactly their price.
    assert charged - credit == Decimal("1161.29")


async def test_documents_are_the_customers_own(
    world: Any, client: httpx.AsyncClient, token_issuer: TestIssuer
) -> None:
    customer, product = await world.customer(), await world.product()
    await world.subscribe(customer, product, starts_on=date(2025, 11, 17))
    mine = token_issuer.headers(customer, OrganizationKind.BUSINESS)
    other = token_issuer.headers(await world.customer(), OrganizationKind.BUSINESS)

    page = (await client.get("/invoices", headers=mine)).json()
    [invoice] = page["items"]
    path = f"/invoices/{invoice['invoice_id']}"
    assert (await client.get(path, headers=mine)).json()["number"] == "СЧ-2025-000001"
    assert (await client.get(path, headers=other)).status_code == 404
    assert (await client.get("/invoices", headers=other)).json()["items"] == []
    printed = await client.get(f"{path}/print", headers=mine)
    assert printed.headers["content-type"].startswith("text/html")
    assert "Счёт на оплату № СЧ-2025-000001 от 17.11.2025" in printed.text
    assert "40702810400000001234" in printed.text
    assert "2 520,00" in printed.text
    assert (await client.get(f"{path}/print", headers=other)).status_code == 404
    account = (await client.get("/accounts/me", headers=mine)).json()
    assert (account["terms_kind"], account["balance"]) == ("prepaid", "0.00")
    assert (await client.get(f"/accounts/{customer}", headers=other)).status_code == 404


async def test_the_operator_sets_terms_and_runs_billing_within_limits(
    world: Any, client: httpx.AsyncClient, operator: dict[str, str], token_issuer: TestIssuer
) -> None:
    customer = await world.customer()
    terms = f"/accounts/{customer}/payment-terms"
    business = token_issuer.headers(customer, OrganizationKind.BUSINESS)

    set_ = await client.put(terms, json={"kind": "postpaid", "days": 10}, headers=operator)
    assert set_.json()["terms_kind"] == "postpaid"
    assert set_.json()["terms_days"] == 10
    assert (
        await client.put(terms, json={"kind": "postpaid", "days": 10}, headers=business)
    ).status_code == 403
    bad = await client.put(terms, json={"kind": "postpaid", "days": -1}, headers=operator)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    unknown = await client.put(
        f"/accounts/{uuid.uuid4()}/payment-terms",
        json={"kind": "prepaid", "days": 5},
        headers=operator,
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "account_not_found"

    today = datetime.now(UTC).date()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    future = await client.post(
        "/billing-runs",
        json={"kind": "period_close", "date": today.isoformat()},
        headers={**operator, **key},
    )
    assert future.status_code == 422
    assert future.json()["code"] == "period_not_over"
    later = date(today.year + 1, 1, 1).isoformat()
    renewals = await client.post(
        "/billing-runs", json={"kind": "renewals", "date": later}, headers={**operator, **key}
    )
    assert renewals.status_code == 422
    assert renewals.json()["code"] == "period_in_future"
    done = await client.post(
        "/billing-runs",
        json={"kind": "period_close", "date": "2025-12-31"},
        headers={**operator, "Idempotency-Key": "close-2025-12"},
    )
    assert done.status_code == 201
    assert done.json()["status"] == "completed"
    replay = await client.post(
        "/billing-runs",
        json={"kind": "period_close", "date": "2025-12-31"},
        headers={**operator, "Idempotency-Key": "close-2025-12"},
    )
    assert replay.json()["run_id"] == done.json()["run_id"]
    assert (
        await client.post(
            "/billing-runs",
            json={"kind": "renewals", "date": "2025-12-01"},
            headers={**business, "Idempotency-Key": "x"},
        )
    ).status_code == 403
    listed = (await client.get("/billing-runs", headers=operator)).json()["items"]
    assert [item["run_id"] for item in listed] == [done.json()["run_id"]]
