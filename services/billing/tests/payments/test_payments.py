"""Payments over the real database: statement lines in, allocations, balance and events out."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from vitrina_kit.auth import OrganizationKind
from vitrina_kit.testing import TestIssuer
from vitrina_kit.testing.database import query, scalar

World = Any  # the conftest's fixtures (a conftest is not importable under importlib mode)
DECEMBER = date(2025, 12, 1)


async def invoiced(world: Any, customer: uuid.UUID, *, starts_on: date = DECEMBER) -> str:
    """A subscription of 10 seats × 450.00 from ``starts_on``: its first invoice's number
    (a whole December: 4 500.00 + VAT 20% = 5 400.00)."""
    product = await world.product()
    await world.subscribe(customer, product, starts_on=starts_on)
    rows = await query(
        world.database_url,
        "SELECT number FROM invoices WHERE customer_id = :c ORDER BY number DESC LIMIT 1",
        c=customer,
    )
    return str(rows[0][0])


async def invoice_state(database_url: str, number: str) -> tuple[Decimal, str]:
    [(paid, status)] = await query(
        database_url, "SELECT amount_paid, status FROM invoices WHERE number = :n", n=number
    )
    return paid, status


async def balance(database_url: str, customer: uuid.UUID) -> Decimal:
    value = await scalar(
        database_url, "SELECT balance FROM billing_accounts WHERE customer_id = :c", c=customer
    )
    return Decimal(value)


async def test_a_partial_payment_then_the_rest_pays_the_invoice(
    world: Any, outbox: Any, database_url: str
) -> None:
    customer = await world.customer()
    number = await invoiced(world, customer)

    first = await world.pay(customer, "2000.00", f"Оплата по счёту № {number}, частично")
    assert await invoice_state(database_url, number) == (Decimal("2000.00"), "issued")
    await world.pay(customer, "3400.00", f"Доплата по счёту {number}")

    assert await invoice_state(database_url, number) == (Decimal("5400.00"), "paid")
    received = await outbox.events("payment.received")
    assert [e["data"]["payment"]["amount"] for e in received] == ["2000.00", "3400.00"]
    assert received[0]["data"]["payment"]["bank_payment_id"] == str(first.bank_payment_id)
    allocated = await outbox.events("payment.allocated")
    assert [
        (e["data"]["allocations"][0]["amount"], e["data"]["unallocated"]) for e in allocated
    ] == [("2000.00", "0.00"), ("3400.00", "0.00")]
    [paid] = await outbox.events("invoice.paid")
    assert paid["data"]["invoice"]["number"] == number
    assert sorted(paid["data"]["payment_ids"]) == sorted(
        e["data"]["payment"]["payment_id"] for e in received
    )
    assert paid["aggregateversion"] == 2


async def test_one_payment_for_several_invoices(world: Any, outbox: Any, database_url: str) -> None:
    customer = await world.customer()
    first = await invoiced(world, customer)
    second = await invoiced(world, customer)

    await world.pay(customer, "10800.00", f"Оплата по счетам {first}, {second}, НДС 20%")

    assert await invoice_state(database_url, first) == (Decimal("5400.00"), "paid")
    assert await invoice_state(database_url, second) == (Decimal("5400.00"), "paid")
    [allocated] = await outbox.events("payment.allocated")
    assert [a["invoice_number"] for a in allocated["data"]["allocations"]] == [first, second]
    assert len(await outbox.events("invoice.paid")) == 2


async def test_an_overpayment_goes_to_the_balance_and_pays_the_next_invoice(
    world: Any, outbox: Any, database_url: str
) -> None:
    customer = await world.customer()
    number = await invoiced(world, customer)

    await world.pay(customer, "6000.00", f"Оплата по счёту № {number}")

    [allocated] = await outbox.events("payment.allocated")
    assert allocated["data"]["unallocated"] == "600.00"
    assert await balance(database_url, customer) == Decimal("600.00")

    following = await invoiced(world, customer, starts_on=date(2025, 12, 15))
    paid, status = await invoice_state(database_url, following)
    assert (paid, status) == (Decimal("600.00"), "issued")
    assert await balance(database_url, customer) == Decimal("0.00")
    [source] = await query(
        database_url,
        "SELECT a.source FROM payment_allocations a JOIN invoices i USING (invoice_id)"
        " WHERE i.number = :n",
        n=following,
    )
    assert source[0] == "balance"


async def test_money_for_invoices_already_paid_is_an_advance(
    world: Any, outbox: Any, database_url: str, client: httpx.AsyncClient, token_issuer: TestIssuer
) -> None:
    customer = await world.customer()
    number = await invoiced(world, customer)
    await world.pay(customer, "5400.00", f"Оплата по счёту № {number}")

    await world.pay(customer, "5400.00", f"Оплата по счёту № {number} (повторно)")

    # payment.allocated needs an invoice: an advance is told by payment.received alone.
    assert len(await outbox.events("payment.received")) == 2
    assert len(await outbox.events("payment.allocated")) == 1
    assert await balance(database_url, customer) == Decimal("5400.00")
    mine = token_issuer.headers(customer, OrganizationKind.BUSINESS)
    payments = (await client.get("/payments", headers=mine)).json()["items"]
    assert [(p["status"], p["advanced"]) for p in payments] == [
        ("advance", "5400.00"),
        ("allocated", "0.00"),
    ]
    assert (await client.get("/accounts/me", headers=mine)).json()["balance"] == "5400.00"


async def test_the_same_statement_line_imported_twice_is_counted_once(
    world: Any, outbox: Any, database_url: str
) -> None:
    customer = await world.customer()
    number = await invoiced(world, customer)
    line = await world.pay(customer, "2000.00", f"Оплата по счёту № {number}", number="777")

    # Redelivered under a new event id, and re-imported by integrations under a new id.
    await world.pay(
        customer, "2000.00", line.purpose, number="777", bank_payment_id=line.bank_payment_id
    )
    await world.pay(customer, "2000.00", line.purpose, number="777")

    assert await scalar(database_url, "SELECT count(*) FROM payments") == 1
    assert len(await outbox.events("payment.received")) == 1
    assert await invoice_state(database_url, number) == (Decimal("2000.00"), "issued")


async def test_an_unmatched_payment_waits_for_the_operator_who_allocates_it(
    world: Any,
    outbox: Any,
    database_url: str,
    client: httpx.AsyncClient,
    operator: dict[str, str],
    token_issuer: TestIssuer,
) -> None:
    customer, stranger = await world.customer(), await world.customer()
    number = await invoiced(world, customer)
    others = await invoiced(world, stranger)
    await world.pay(stranger, "5400.00", f"Оплата по счёту {others}")
    # A third party pays for the customer, naming a contract, not the invoice.
    await world.pay(None, "6000.00", "Оплата по договору 15/2025 за ООО «Ромашка»")

    [unmatched] = await outbox.events("payment.unmatched")
    assert "не найден" in unmatched["data"]["reason"]
    listed = (await client.get("/payments?status=unmatched", headers=operator)).json()["items"]
    [waiting] = listed
    assert (waiting["unallocated"], waiting["customer_id"]) == ("6000.00", None)
    business = token_issuer.headers(customer, OrganizationKind.BUSINESS)
    assert (await client.get("/payments", headers=business)).json()["items"] == []
    path = f"/payments/{waiting['payment_id']}"
    assert (await client.get(path, headers=business)).status_code == 404
    invoice_id = await scalar(
        database_url, "SELECT invoice_id FROM invoices WHERE number = :n", n=number
    )
    paid_id = await scalar(
        database_url, "SELECT invoice_id FROM invoices WHERE number = :n", n=others
    )

    async def allocate(amount: Any, invoice: Any = invoice_id, **headers: str) -> httpx.Response:
        return await client.post(
            f"{path}/allocations",
            json={"invoice_id": str(invoice), "amount": amount},
            headers={**(headers or operator), "Idempotency-Key": uuid.uuid4().hex},
        )

    refusals = [
        (await allocate("-5.00"), 422, "invalid_amount"),
        (await allocate("10.005"), 422, "invalid_amount"),
        (await allocate("0"), 422, "invalid_amount"),
        (await allocate("6000.01"), 422, "allocation_exceeds_payment"),
        (await allocate("5400.01"), 422, "allocation_exceeds_invoice"),
        (await allocate("100.00", paid_id), 409, "invoice_already_paid"),
        (await allocate("100.00", uuid.uuid4()), 404, "invoice_not_found"),
    ]
    for response, status, code in refusals:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
    assert (await allocate("100.00", **business)).status_code == 403
    assert await invoice_state(database_url, number) == (Decimal("0.00"), "issued")
    assert (
        await scalar(
            database_url,
            "SELECT count(*) FROM payment_allocations WHERE payment_id = :p",
            p=waiting["payment_id"],
        )
        == 0
    )

    first = await allocate("5000.00")
    assert first.status_code == 201, first.text
    assert (first.json()["unallocated"], first.json()["customer_id"]) == ("1000.00", str(customer))
    # Now the customer's money: it pays no one else's invoice.
    other_open = await invoiced(world, stranger, starts_on=date(2025, 12, 20))
    other_id = await scalar(
        database_url, "SELECT invoice_id FROM invoices WHERE number = :n", n=other_open
    )
    foreign = await allocate("100.00", other_id)
    assert (foreign.status_code, foreign.json()["code"]) == (409, "invoice_of_another_customer")
    rest = await allocate("400.00")
    assert rest.json()["status"] == "unmatched"  # 600.00 still waits for the operator

    assert await invoice_state(database_url, number) == (Decimal("5400.00"), "paid")
    manual = (await outbox.events("payment.allocated"))[-2:]
    assert [e["aggregateversion"] for e in manual] == [3, 4]
    # Cumulative allocations: with the unallocated rest they add up to the payment.
    assert [a["amount"] for a in manual[-1]["data"]["allocations"]] == ["5000.00", "400.00"]
    assert manual[-1]["data"]["unallocated"] == "600.00"
    [paid] = [
        e for e in await outbox.events("invoice.paid") if e["data"]["invoice"]["number"] == number
    ]
    assert paid["data"]["payment_ids"] == [waiting["payment_id"]]
    detail = (await client.get(path, headers=business)).json()
    assert [a["source"] for a in detail["allocations"]] == ["manual", "manual"]
