"""Invoices, closing documents and changes as plain values: history, credits and charges,
numbering, and an invoice's money."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.invoices.domain import (
    AllocationExceedsInvoice,
    BillingPeriod,
    InvoiceAlreadyPaid,
    InvoiceBalance,
    InvoiceCannotBeVoided,
    InvoiceIsVoided,
    InvoiceStatus,
    Line,
    Period,
    PeriodNotOver,
    PlanTerms,
    ServiceHistory,
    ServiceSegment,
    Terms,
    Totals,
    amount_for_days,
    billing_period_on,
    change_adjustment,
    check_closable,
    invoice_lines,
    lines_for,
    next_period,
)
from billing.invoices.numbering import DocumentKind, DocumentNumber, InvalidDocumentNumber
from billing.invoices.vat import VatMode
from billing.money import InvalidAmount
from vitrina_contracts.events import _samples as s
from vitrina_contracts.events.billing import ClosingDocument, DocumentLine, Party

D = Decimal
d = date
MONTH, YEAR = BillingPeriod.MONTH, BillingPeriod.YEAR
SUBSCRIPTION = uuid.uuid4()
PRODUCT = uuid.uuid4()


def plan(
    price: str = "450.00", *, period: BillingPeriod = MONTH, exempt: bool = False
) -> PlanTerms:
    return PlanTerms(
        plan_id=uuid.uuid4(),
        product_id=PRODUCT,
        service_name=f"Проектная доска, {price} ₽",
        billing_period=period,
        unit_price=D(price),
        vat_mode=VatMode.EXEMPT if exempt else VatMode.STANDARD,
    )


STANDARD, BUSINESS, YEARLY = plan("450.00"), plan("900.00"), plan("8400.00", period=YEAR)
EXEMPT = plan("333.33", exempt=True)
ON_THE_1ST = d(2025, 1, 1)


# Periods --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "period", "day", "expected"),
    [
        (d(2025, 12, 1), MONTH, d(2026, 2, 14), Period(d(2026, 2, 1), d(2026, 3, 1))),
        (d(2026, 1, 31), MONTH, d(2026, 3, 1), Period(d(2026, 2, 28), d(2026, 3, 31))),
        (d(2026, 1, 31), MONTH, d(2026, 2, 27), Period(d(2026, 1, 31), d(2026, 2, 28))),
        (d(2025, 12, 1), YEAR, d(2026, 11, 30), Period(d(2025, 12, 1), d(2026, 12, 1))),
        (d(2026, 3, 10), MONTH, d(2026, 3, 1), Period(d(2026, 2, 10), d(2026, 3, 10))),
    ],
)
def test_billing_period_on(
    anchor: date, period: BillingPeriod, day: date, expected: Period
) -> None:
    assert billing_period_on(anchor, period, day) == expected
    assert day in expected


def test_renewals_follow_each_other() -> None:
    january = Period.month(2026, 1)
    assert next_period(january, ON_THE_1ST, MONTH) == Period.month(2026, 2)


def test_a_period_is_never_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        Period(d(2026, 1, 1), d(2026, 1, 1))


# Invoices and closing documents ---------------------------------------------------------------


def test_a_renewal_invoice_bills_the_whole_period() -> None:
    lines = invoice_lines(SUBSCRIPTION, Terms(STANDARD, 10, ON_THE_1ST), Period.month(2026, 1))
    assert [(line.amount_net, line.vat_amount, line.is_prorated) for line in lines] == [
        (D("4500.00"), D("990.00"), False)
    ]
    assert lines[0].description == "Проектная доска, 450.00 ₽, 01.01.2026–31.01.2026"


def test_the_closing_document_follows_the_history_of_the_month() -> None:
    """10 seats from 1 December, 15 from the 10th, suspended 20th–24th, cancelled on the 28th."""
    history = (
        ServiceHistory()
        .from_day(d(2025, 12, 1), Terms(STANDARD, 10, ON_THE_1ST))
        .from_day(d(2025, 12, 10), Terms(STANDARD, 15, ON_THE_1ST))
        .from_day(d(2025, 12, 20), None)
        .from_day(d(2025, 12, 25), Terms(STANDARD, 15, ON_THE_1ST))
        .from_day(d(2025, 12, 28), None)
    )
    december = Period.month(2025, 12)

    lines = lines_for(SUBSCRIPTION, history.segments(december), december)

    assert [(line.days.starts_on, line.days.last_day, line.quantity) for line in lines] == [
        (d(2025, 12, 1), d(2025, 12, 9), 10),
        (d(2025, 12, 10), d(2025, 12, 19), 15),
        (d(2025, 12, 25), d(2025, 12, 27), 15),
    ]
    assert sum(line.days.days for line in lines) == 9 + 10 + 3


def test_a_reactivation_removes_the_scheduled_end() -> None:
    scheduled_end = (
        ServiceHistory()
        .from_day(d(2026, 1, 1), Terms(STANDARD, 10, ON_THE_1ST))
        .from_day(d(2026, 2, 1), None)  # cancelled at the period end
    )
    reactivated = scheduled_end.from_day(d(2026, 1, 20), Terms(STANDARD, 10, ON_THE_1ST))
    assert scheduled_end.segments(Period.month(2026, 2)) == ()
    # The same terms on both sides of the 20th read as one segment.
    assert reactivated.segments(Period.month(2026, 2)) == (
        ServiceSegment(d(2026, 2, 1), d(2026, 3, 1), STANDARD, 10, ON_THE_1ST),
    )
    assert len(reactivated.segments(Period.month(2026, 1))) == 1


def test_overlapping_segments_are_refused() -> None:
    segments = [
        ServiceSegment(d(2026, 1, 1), d(2026, 1, 20), STANDARD, 1, ON_THE_1ST),
        ServiceSegment(d(2026, 1, 19), d(2026, 2, 1), STANDARD, 2, ON_THE_1ST),
    ]
    with pytest.raises(ValueError, match="overlap"):
        lines_for(SUBSCRIPTION, segments, Period.month(2026, 1))


def test_a_closing_document_validates_against_the_contract() -> None:
    december = Period.month(2025, 12)
    history = (
        ServiceHistory()
        .from_day(d(2025, 12, 15), Terms(STANDARD, 10, ON_THE_1ST))
        .from_day(d(2025, 12, 20), Terms(BUSINESS, 3, ON_THE_1ST))
    )
    lines = lines_for(SUBSCRIPTION, history.segments(december), december)
    totals = Totals.of(lines)
    party = Party(
        organization_id=s.CUSTOMER_ID,
        legal_name=s.CUSTOMER_NAME,
        inn=s.CUSTOMER_INN,
        address=s.CUSTOMER_ADDRESS,
    )

    document = ClosingDocument(
        document_id=uuid.uuid4(),
        number=str(DocumentNumber(DocumentKind.CLOSING_DOCUMENT, 2025, 456)),
        issued_on=december.last_day,
        seller=party,
        buyer=party,
        lines=tuple(to_contract(n, line) for n, line in enumerate(lines, start=1)),
        amount_net=totals.net,
        vat_amount=totals.vat,
        amount_total=totals.total,
        period_start=december.starts_on,
        period_end=december.last_day,
    )

    assert document.number == "УПД-2025-000456"
    # 10 seats, 15–19 Dec: r(4500·19/31) − r(4500·14/31) = 2758.06 − 2032.26, VAT 145.16;
    # 3 Business seats, 20–31 Dec: 2700 − r(2700·19/31) = 1045.16, VAT 209.03.
    assert [line.amount_net for line in document.lines] == [D("725.80"), D("1045.16")]
    assert document.amount_total == D("725.80") + D("145.16") + D("1045.16") + D("209.03")


def to_contract(line_no: int, line: Line) -> DocumentLine:
    return DocumentLine(
        line_no=line_no,
        description=line.description,
        subscription_id=line.subscription_id,
        product_id=line.plan.product_id,
        plan_id=line.plan.plan_id,
        period_start=line.days.starts_on,
        period_end=line.days.last_day,
        quantity=line.quantity,
        okei_code=line.plan.okei_code,
        unit_price=line.unit_price,
        amount_net=line.amount_net,
        vat_mode=line.plan.vat_mode.value,
        vat_rate=line.vat_rate,
        vat_amount=line.vat_amount,
        amount_total=line.amount_total,
    )


def test_closing_runs_refuse_a_period_not_over() -> None:
    check_closable(Period.month(2025, 12), run_on=d(2025, 12, 31))
    with pytest.raises(PeriodNotOver):
        check_closable(Period.month(2025, 12), run_on=d(2025, 12, 30))


# Changes --------------------------------------------------------------------------------------


def test_more_seats_mid_period_credit_the_old_terms_and_charge_the_new() -> None:
    january = Period.month(2026, 1)
    billed = (ServiceSegment(d(2026, 1, 1), d(2026, 2, 1), STANDARD, 10, ON_THE_1ST),)

    adjustment, revised = change_adjustment(
        SUBSCRIPTION,
        billed=billed,
        effective_on=d(2026, 1, 16),
        terms=Terms(STANDARD, 15, ON_THE_1ST),
        period=january,
    )

    # 16 of 31 days: 10 seats credited, 15 charged.
    assert [(c.days, c.quantity, c.amount_net) for c in adjustment.credits] == [
        (Period(d(2026, 1, 16), d(2026, 2, 1)), 10, D("2322.58"))
    ]
    assert [(c.days, c.quantity, c.amount_net) for c in adjustment.charges] == [
        (Period(d(2026, 1, 16), d(2026, 2, 1)), 15, D("3483.87"))
    ]
    assert adjustment.balance_effect == D("4250.32") - D("2833.55")
    # What the period is billed for now is what the closing document will say.
    invoiced = Totals.of(lines_for(SUBSCRIPTION, billed, january)).net
    assert (
        invoiced - D("2322.58") + D("3483.87")
        == Totals.of(lines_for(SUBSCRIPTION, revised, january)).net
    )


def test_an_immediate_cancellation_credits_the_unused_days_only() -> None:
    billed = (ServiceSegment(d(2026, 1, 1), d(2026, 2, 1), STANDARD, 10, ON_THE_1ST),)
    adjustment, revised = change_adjustment(
        SUBSCRIPTION,
        billed=billed,
        effective_on=d(2026, 1, 31),
        terms=None,
        period=Period.month(2026, 1),
    )
    assert adjustment.charges == ()
    assert [(c.days.days, c.amount_net) for c in adjustment.credits] == [(1, D("145.16"))]
    assert revised == (ServiceSegment(d(2026, 1, 1), d(2026, 1, 31), STANDARD, 10, ON_THE_1ST),)


def test_a_change_from_the_period_end_changes_nothing_in_it() -> None:
    billed = (ServiceSegment(d(2026, 1, 1), d(2026, 2, 1), STANDARD, 10, ON_THE_1ST),)
    adjustment, _ = change_adjustment(
        SUBSCRIPTION,
        billed=billed,
        effective_on=d(2026, 2, 1),
        terms=Terms(STANDARD, 5, ON_THE_1ST),
        period=Period.month(2026, 1),
    )
    assert adjustment.is_empty


def test_a_change_across_the_vat_switch_credits_each_rate_separately() -> None:
    anchor = d(2025, 12, 15)
    period = Period(d(2025, 12, 15), d(2026, 1, 15))
    billed = (ServiceSegment(period.starts_on, period.ends_on, STANDARD, 10, anchor),)
    adjustment, _ = change_adjustment(
        SUBSCRIPTION,
        billed=billed,
        effective_on=d(2025, 12, 20),
        terms=Terms(BUSINESS, 10, anchor),
        period=period,
    )
    assert [c.vat_rate for c in adjustment.credits] == [20, 22]
    assert [c.vat_rate for c in adjustment.charges] == [20, 22]


# Properties -----------------------------------------------------------------------------------

PLANS = (STANDARD, BUSINESS, YEARLY, EXEMPT)
anchors = st.dates(min_value=d(2025, 1, 1), max_value=d(2028, 12, 31))
terms_or_end = st.one_of(
    st.none(),
    st.builds(lambda p, q: (p, q), st.sampled_from(PLANS), st.integers(1, 500)),
)


@settings(max_examples=200, deadline=None)
@given(
    anchor=anchors,
    start_offset=st.integers(0, 30),
    first=st.sampled_from(PLANS),
    quantity=st.integers(1, 500),
    changes=st.lists(st.tuples(st.integers(0, 400), terms_or_end), max_size=6),
)
def test_credits_and_charges_never_bill_a_day_twice(
    anchor: date,
    start_offset: int,
    first: PlanTerms,
    quantity: int,
    changes: list[tuple[int, tuple[PlanTerms, int] | None]],
) -> None:
    period = billing_period_on(anchor, first.billing_period, anchor)
    starts_on = min(anchor + timedelta(days=start_offset), period.last_day)
    billed: tuple[ServiceSegment, ...] = (
        ServiceSegment(starts_on, period.ends_on, first, quantity, anchor),
    )
    invoice = lines_for(SUBSCRIPTION, billed, period)
    days_billed: Counter[date] = Counter()
    net = Totals.of(invoice).net
    add_days(days_billed, invoice, +1)

    for offset, change in sorted(changes, key=lambda change: change[0]):
        effective_on = period.starts_on + timedelta(days=offset % period.days)
        terms = None if change is None else Terms(change[0], change[1], anchor)
        adjustment, billed = change_adjustment(
            SUBSCRIPTION, billed=billed, effective_on=effective_on, terms=terms, period=period
        )
        add_days(days_billed, adjustment.credits, -1)
        add_days(days_billed, adjustment.charges, +1)
        assert sum(line.days.days for line in adjustment.charges) <= period.days
        assert all(line.days.starts_on >= effective_on for line in adjustment.credits)
        # Never a day credited that was not billed, never a day billed twice.
        assert set(days_billed.values()) <= {0, 1}
        net += Totals.of(adjustment.charges).net - Totals.of(adjustment.credits).net

    assert all(day in period for day in days_billed)
    final = lines_for(SUBSCRIPTION, billed, period)
    # Every day billed once, on the terms it ended up with, to the kopeck.
    assert {day for day, n in days_billed.items() if n} == {
        day for line in final for day in days_of(line.days)
    }
    assert net == Totals.of(final).net


def add_days(counter: Counter[date], lines: tuple[Line, ...], sign: int) -> None:
    for line in lines:
        for day in days_of(line.days):
            counter[day] += sign


def days_of(period: Period) -> list[date]:
    return [period.starts_on + timedelta(days=n) for n in range(period.days)]


@settings(max_examples=200, deadline=None)
@given(
    anchor=anchors,
    plan_=st.sampled_from(PLANS),
    quantity=st.integers(1, 10_000),
    cuts=st.lists(st.integers(1, 365), max_size=8),
)
def test_lines_add_up_to_totals_and_splits_to_the_whole(
    anchor: date, plan_: PlanTerms, quantity: int, cuts: list[int]
) -> None:
    period = billing_period_on(anchor, plan_.billing_period, anchor)
    pieces = period.split_at(anchor + timedelta(days=c) for c in cuts)
    segments = [ServiceSegment(p.starts_on, p.ends_on, plan_, quantity, anchor) for p in pieces]

    lines = lines_for(SUBSCRIPTION, segments, period)
    totals = Totals.of(lines)

    assert totals.net == sum((line.amount_net for line in lines), D(0))
    assert totals.vat == sum((line.vat_amount for line in lines), D(0))
    assert totals.total == totals.net + totals.vat
    assert all(line.amount_total == line.amount_net + line.vat_amount for line in lines)
    # However the period is cut (by changes, or by the VAT switch), it costs the period's price.
    assert totals.net == plan_.unit_price * quantity
    assert (
        sum(amount_for_days(plan_.unit_price * quantity, period, p) for p in pieces)
        == plan_.unit_price * quantity
    )


# Numbering ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (DocumentNumber(DocumentKind.INVOICE, 2026, 123), "СЧ-2026-000123"),
        (DocumentNumber(DocumentKind.CLOSING_DOCUMENT, 2025, 1), "УПД-2025-000001"),
        (DocumentNumber(DocumentKind.CREDIT_NOTE, 2026, 7), "УКД-2026-000007"),
        (DocumentNumber(DocumentKind.SETTLEMENT, 2026, 1_234_567), "АО-2026-1234567"),
    ],
)
def test_document_numbers_format_and_parse(number: DocumentNumber, text: str) -> None:
    assert str(number) == text
    assert DocumentNumber.parse(text) == number


@pytest.mark.parametrize(
    "text",
    ["", "СЧ-2026-123", "СЧ-2026-000000", "XX-2026-000123", "СЧ-2026-0000123", "сч-2026-000123"],
)
def test_a_malformed_number_is_refused(text: str) -> None:
    with pytest.raises(InvalidDocumentNumber):
        DocumentNumber.parse(text)


def test_numbers_sort_by_kind_year_and_sequence() -> None:
    a = DocumentNumber(DocumentKind.INVOICE, 2025, 999)
    b = DocumentNumber(DocumentKind.INVOICE, 2026, 1)
    assert a < b


# An invoice's money ---------------------------------------------------------------------------


def invoice(total: str = "5490.00", **changes: object) -> InvoiceBalance:
    fields: dict[str, object] = {
        "invoice_id": uuid.uuid4(),
        "number": "СЧ-2026-000001",
        "customer_id": uuid.uuid4(),
        "buyer_inn": s.CUSTOMER_INN,
        "issued_on": d(2025, 12, 31),
        "due_on": d(2026, 1, 5),
        "amount_total": D(total),
    }
    return InvoiceBalance(**(fields | changes))  # type: ignore[arg-type]


def test_partial_payments_then_paid() -> None:
    first = invoice().pay(D("5000.00"))
    assert (first.status, first.amount_due) == (InvoiceStatus.ISSUED, D("490.00"))
    paid = first.pay(D("490.00"))
    assert (paid.status, paid.amount_due) == (InvoiceStatus.PAID, D("0.00"))
    with pytest.raises(InvoiceAlreadyPaid):
        paid.pay(D("1.00"))


@pytest.mark.parametrize("amount", ["0", "-1.00", "1.001", "NaN"])
def test_a_payment_is_a_positive_kopeck_amount(amount: str) -> None:
    with pytest.raises(InvalidAmount):
        invoice().pay(D(amount))


def test_no_more_than_is_due() -> None:
    with pytest.raises(AllocationExceedsInvoice):
        invoice().pay(D("5490.01"))


def test_overdue_stays_open_and_only_unpaid_invoices_are_voided() -> None:
    overdue = invoice().mark_overdue()
    assert overdue.is_open
    assert overdue.void().status is InvoiceStatus.VOIDED
    with pytest.raises(InvoiceCannotBeVoided):
        invoice().pay(D("1.00")).void()
    with pytest.raises(InvoiceIsVoided):
        invoice().void().pay(D("1.00"))
