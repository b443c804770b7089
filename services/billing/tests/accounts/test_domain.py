"""Billing accounts: due dates from payment terms, and the balance."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from billing.accounts.domain import (
    BalanceTooLow,
    BillingAccount,
    InvalidPaymentTerms,
    PaymentTerms,
)
from billing.money import InvalidAmount

D = Decimal
d = date


@pytest.mark.parametrize(
    ("terms", "issued_on", "period", "due_on"),
    [
        # A renewal issued at the month-end run: five days from issue.
        (PaymentTerms.prepaid(), d(2025, 12, 31), (d(2026, 1, 1), d(2026, 2, 1)), d(2026, 1, 5)),
        # A first invoice weeks before a future start: due when the service starts.
        (PaymentTerms.prepaid(), d(2025, 11, 17), (d(2025, 12, 1), d(2026, 1, 1)), d(2025, 12, 1)),
        (PaymentTerms.prepaid(0), d(2026, 1, 16), (d(2026, 1, 16), d(2026, 2, 1)), d(2026, 1, 16)),
        # Postpaid net 30: thirty days after the service period ends.
        (PaymentTerms.postpaid(30), d(2025, 12, 31), (d(2026, 1, 1), d(2026, 2, 1)), d(2026, 3, 3)),
        (PaymentTerms.postpaid(10), d(2026, 2, 5), (d(2026, 1, 1), d(2026, 2, 1)), d(2026, 2, 15)),
    ],
)
def test_due_dates(
    terms: PaymentTerms, issued_on: date, period: tuple[date, date], due_on: date
) -> None:
    assert (
        terms.due_on(issued_on=issued_on, period_starts_on=period[0], period_ends_on=period[1])
        == due_on
    )


@pytest.mark.parametrize("days", [-1, 181])
def test_payment_days_are_bounded(days: int) -> None:
    with pytest.raises(InvalidPaymentTerms):
        PaymentTerms.postpaid(days)


def test_the_balance_pays_what_it_can_of_a_new_invoice() -> None:
    account = BillingAccount(uuid.uuid4()).credit(D("290.00"))

    partly = account.apply_to_invoice(D("5490.00"))
    assert (partly.applied, partly.invoice_due, partly.account.balance) == (
        D("290.00"),
        D("5200.00"),
        D("0.00"),
    )
    wholly = account.credit(D("6000.00")).apply_to_invoice(D("5490.00"))
    assert (wholly.applied, wholly.invoice_due, wholly.account.balance) == (
        D("5490.00"),
        D("0.00"),
        D("800.00"),
    )


def test_the_balance_never_goes_negative() -> None:
    account = BillingAccount(uuid.uuid4()).credit(D("10.00"))
    with pytest.raises(BalanceTooLow):
        account.debit(D("10.01"))
    with pytest.raises(InvalidAmount):
        account.credit(D("-1.00"))
    assert account.debit(D("10.00")).balance == D("0.00")


def test_the_operator_changes_the_terms() -> None:
    account = BillingAccount(uuid.uuid4()).change_terms(PaymentTerms.postpaid(15))
    assert account.terms == PaymentTerms.postpaid(15)
