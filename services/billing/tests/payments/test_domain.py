"""Reading payment purposes, matching payments to invoices, and the operator's allocation."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.invoices.domain import (
    AllocationExceedsInvoice,
    InvoiceAlreadyPaid,
    InvoiceBalance,
    InvoiceIsVoided,
    InvoiceStatus,
)
from billing.money import InvalidAmount
from billing.payments.domain import (
    AllocationExceedsPayment,
    IncomingPayment,
    InvoiceOfAnotherCustomer,
    Match,
    MatchOutcome,
    Payer,
    PaymentBalance,
    allocate_manually,
    invoice_numbers_in,
    match_payment,
)

D = Decimal
CUSTOMER = Payer(uuid.uuid4(), "5012345672")
STRANGER = Payer(uuid.uuid4(), "7802543212")


@pytest.mark.parametrize(
    ("purpose", "numbers"),
    [
        (
            "Оплата по счету № СЧ-2026-000123 от 01.12.2026, в т.ч. НДС 22% 990.00",
            ("СЧ-2026-000123",),
        ),
        ("Оплата по счёту N СЧ 2026-123 от 01.12.2026", ("СЧ-2026-000123",)),
        ("Оплата по сч. №СЧ–2026–000045, НДС не облагается", ("СЧ-2026-000045",)),
        ("Оплата по счету № 2025-000123 от 30.11.2025", ("СЧ-2025-000123",)),
        ("оплата счет № 77 от 03.02.2026, в т.ч. НДС", ("СЧ-2026-000077",)),
        ("CЧ-2026-000005 (латинская C)", ("СЧ-2026-000005",)),
        (
            "По счетам №№ СЧ-2026-000124, СЧ-2026-000123 и СЧ-2026-000124",
            ("СЧ-2026-000124", "СЧ-2026-000123"),
        ),
        ("Оплата по УПД-2026-000001 и СЧ-2026-000002", ("СЧ-2026-000002",)),
        ("Оплата по договору 15/2025 от 2026-01-15, ИНН 2012345678", ()),
        ("Аванс за услуги связи", ()),
    ],
)
def test_invoice_numbers_are_read_from_the_purpose(purpose: str, numbers: tuple[str, ...]) -> None:
    assert invoice_numbers_in(purpose) == numbers


def invoice(
    number: str,
    total: str,
    *,
    payer: Payer = CUSTOMER,
    issued_on: date = date(2026, 1, 1),
    paid: str = "0.00",
    status: InvoiceStatus = InvoiceStatus.ISSUED,
) -> InvoiceBalance:
    return InvoiceBalance(
        invoice_id=uuid.uuid4(),
        number=number,
        customer_id=payer.customer_id,
        buyer_inn=payer.inn,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=5),
        amount_total=D(total),
        amount_paid=D(paid),
        status=status,
    )


def payment(amount: str, purpose: str, *, inn: str | None = CUSTOMER.inn) -> IncomingPayment:
    return IncomingPayment(uuid.uuid4(), date(2026, 1, 12), D(amount), inn, purpose)


OLD = invoice("СЧ-2025-000900", "1000.00", issued_on=date(2025, 12, 1))
A = invoice("СЧ-2026-000001", "5490.00")
B = invoice("СЧ-2026-000002", "1220.00", issued_on=date(2026, 1, 2))


def allocated(match: Match) -> list[tuple[str, str]]:
    return [(a.invoice_number, str(a.amount)) for a in match.allocations]


def test_an_exact_payment_pays_the_invoice_named() -> None:
    match = match_payment(
        payment("5490.00", "Оплата по счету № СЧ-2026-000001"), payer=CUSTOMER, invoices=[A, B]
    )
    assert match.outcome is MatchOutcome.ALLOCATED
    assert match.customer_id == CUSTOMER.customer_id
    assert allocated(match) == [("СЧ-2026-000001", "5490.00")]
    assert match.unallocated == D("0.00")


def test_a_partial_payment_pays_part_of_the_invoice() -> None:
    match = match_payment(payment("2000.00", "счет СЧ-2026-000001"), payer=CUSTOMER, invoices=[A])
    assert allocated(match) == [("СЧ-2026-000001", "2000.00")]


def test_one_payment_pays_the_named_in_order_then_the_oldest_then_the_balance() -> None:
    match = match_payment(
        payment("8000.00", "Оплата счетов СЧ-2026-000002, СЧ-2026-000001"),
        payer=CUSTOMER,
        invoices=[A, B, OLD],
    )
    assert allocated(match) == [
        ("СЧ-2026-000002", "1220.00"),
        ("СЧ-2026-000001", "5490.00"),
        ("СЧ-2025-000900", "1000.00"),
    ]
    assert match.unallocated == D("290.00")  # an overpayment: to the balance


def test_without_a_number_an_exact_amount_picks_the_oldest_invoice() -> None:
    twin = invoice("СЧ-2026-000003", "1220.00", issued_on=date(2026, 1, 5))
    match = match_payment(payment("1220.00", "За услуги"), payer=CUSTOMER, invoices=[twin, B])
    assert allocated(match) == [("СЧ-2026-000002", "1220.00")]


def test_a_payment_for_paid_invoices_is_an_advance() -> None:
    paid = invoice("СЧ-2026-000004", "100.00", paid="100.00", status=InvoiceStatus.PAID)
    match = match_payment(payment("100.00", "СЧ-2026-000004"), payer=CUSTOMER, invoices=[paid])
    assert (match.outcome, match.allocations, match.unallocated) == (
        MatchOutcome.ADVANCE,
        (),
        D("100.00"),
    )


@pytest.mark.parametrize(
    ("pay", "payer", "reason"),
    [
        (payment("5490.00", "СЧ-2026-000001", inn="7727000006"), None, "не найден"),
        (payment("5490.00", "СЧ-2026-000001", inn=None), None, "не указан"),
        (payment("5490.00", "СЧ-2026-000001", inn=STRANGER.inn), STRANGER, "не совпадает"),
        (payment("5490.00", "СЧ-2026-000777"), CUSTOMER, "не найден"),
        (payment("10.00", "За услуги"), CUSTOMER, "нет номера счёта"),
    ],
    ids=["unknown payer", "no INN", "INN mismatch", "unknown number", "no number, no amount"],
)
def test_unmatched_payments_wait_for_the_operator(
    pay: IncomingPayment, payer: Payer | None, reason: str
) -> None:
    match = match_payment(pay, payer=payer, invoices=[A, B])
    assert match.outcome is MatchOutcome.UNMATCHED
    assert (match.customer_id, match.allocations, match.unallocated) == (None, (), pay.amount)
    assert reason in match.reason


@settings(max_examples=200, deadline=None)
@given(
    amount=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    dues=st.lists(
        st.tuples(
            st.decimals(min_value=D("0.01"), max_value=D("20000"), places=2),
            st.booleans(),  # the customer's (else a stranger's)
            st.booleans(),  # named in the purpose
        ),
        max_size=6,
    ),
)
def test_allocation_never_exceeds_the_payment_nor_an_invoice(
    amount: Decimal, dues: list[tuple[Decimal, bool, bool]]
) -> None:
    invoices = [
        invoice(
            f"СЧ-2026-{n + 1:06d}",
            str(due),
            payer=CUSTOMER if ours else STRANGER,
            issued_on=date(2026, 1, 1) + timedelta(days=n),
        )
        for n, (due, ours, _) in enumerate(dues)
    ]
    purpose = " ".join(i.number for i, (_, _, named) in zip(invoices, dues, strict=True) if named)

    match = match_payment(payment(str(amount), purpose), payer=CUSTOMER, invoices=invoices)

    by_id = {i.invoice_id: i for i in invoices}
    assert match.allocated + match.unallocated == amount
    assert match.unallocated >= 0
    for allocation in match.allocations:
        paid = by_id[allocation.invoice_id]
        assert 0 < allocation.amount <= paid.amount_due
        assert paid.buyer_inn == CUSTOMER.inn
    assert len({a.invoice_id for a in match.allocations}) == len(match.allocations)


# The operator's allocation ----------------------------------------------------------------------


def test_the_operator_allocates_an_unmatched_payment() -> None:
    unmatched = PaymentBalance(uuid.uuid4(), D("6000.00"))
    done = allocate_manually(unmatched, A, D("5490.00"))
    assert done.invoice.status is InvoiceStatus.PAID
    assert (done.payment.customer_id, done.payment.unallocated) == (
        CUSTOMER.customer_id,
        D("510.00"),
    )
    with pytest.raises(AllocationExceedsPayment):
        allocate_manually(done.payment, B, D("510.01"))


@pytest.mark.parametrize(
    ("target", "amount", "error"),
    [
        (A, "0", InvalidAmount),
        (A, "-5.00", InvalidAmount),
        (A, "10.005", InvalidAmount),
        (A, "6000.01", AllocationExceedsPayment),
        (invoice("СЧ-2026-000010", "100.00"), "100.01", AllocationExceedsInvoice),
        (
            invoice("СЧ-2026-000011", "1.00", paid="1.00", status=InvoiceStatus.PAID),
            "1.00",
            InvoiceAlreadyPaid,
        ),
        (invoice("СЧ-2026-000012", "1.00", status=InvoiceStatus.VOIDED), "1.00", InvoiceIsVoided),
        (invoice("СЧ-2026-000013", "1.00", payer=STRANGER), "1.00", InvoiceOfAnotherCustomer),
    ],
)
def test_a_manual_allocation_is_checked(
    target: InvoiceBalance, amount: str, error: type[Exception]
) -> None:
    customers_payment = PaymentBalance(uuid.uuid4(), D("6000.00"), CUSTOMER.customer_id)
    with pytest.raises(error) as raised:
        allocate_manually(customers_payment, target, D(amount))
    assert getattr(raised.value, "status", None) in {409, 422}
