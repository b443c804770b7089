"""A customer's billing account: payment terms and the balance of advances. Plain values.

Payment terms decide an invoice's due date:

* **prepaid** (the default): the customer pays before the service period starts, but always has
  ``days`` to pay from the invoice's date: due on ``max(issued_on + days, period start)``. A
  renewal issued at the month-end run for the next month is due ``days`` after issue; a first
  invoice issued weeks before a future start is due on the start.
* **postpaid net N** (trusted customers, set by the operator): due ``N`` days after the service
  period ends (or after the invoice's date, if it is issued later than that).

The balance is money received and not yet applied (overpayments, advances): it is applied to
the next invoice the moment the invoice is issued.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from billing.money import ZERO, check_positive_kopecks
from vitrina_kit.problems import UnprocessableEntity

MAX_PAYMENT_DAYS = 180
"""An operator's typo (3000 days) must not hand a customer years of free service."""
DEFAULT_PREPAID_DAYS = 5


class PaymentTermsKind(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class InvalidPaymentTerms(UnprocessableEntity):
    code = "invalid_payment_terms"
    title = "Payment terms out of range"

    def __init__(self, days: int) -> None:
        super().__init__(
            f"Payment days must be between 0 and {MAX_PAYMENT_DAYS}; got {days}.", days=days
        )


@dataclass(frozen=True)
class PaymentTerms:
    kind: PaymentTermsKind = PaymentTermsKind.PREPAID
    days: int = DEFAULT_PREPAID_DAYS

    def __post_init__(self) -> None:
        if not 0 <= self.days <= MAX_PAYMENT_DAYS:
            raise InvalidPaymentTerms(self.days)

    @classmethod
    def prepaid(cls, days: int = DEFAULT_PREPAID_DAYS) -> PaymentTerms:
        return cls(PaymentTermsKind.PREPAID, days)

    @classmethod
    def postpaid(cls, net_days: int) -> PaymentTerms:
        return cls(PaymentTermsKind.POSTPAID, net_days)

    def due_on(self, *, issued_on: date, period_starts_on: date, period_ends_on: date) -> date:
        """The last day to pay an invoice issued on ``issued_on`` for the service period
        ``[period_starts_on, period_ends_on)``; overdue from the next day on."""
        days = timedelta(days=self.days)
        if self.kind is PaymentTermsKind.PREPAID:
            return max(issued_on + days, period_starts_on)
        return max(issued_on, period_ends_on) + days


class BalanceTooLow(UnprocessableEntity):
    code = "balance_too_low"
    title = "The balance does not cover the amount"

    def __init__(self, balance: Decimal, amount: Decimal) -> None:
        super().__init__(
            f"The balance is {balance}; cannot take {amount} from it.",
            balance=str(balance),
        )


@dataclass(frozen=True)
class BalanceApplication:
    """What applying the balance to an invoice did: how much it paid, what stays due."""

    applied: Decimal
    invoice_due: Decimal
    account: BillingAccount


@dataclass(frozen=True)
class BillingAccount:
    """One business customer's account with the marketplace."""

    customer_id: UUID
    terms: PaymentTerms = PaymentTerms()
    balance: Decimal = ZERO
    """Advances: received and not applied to any invoice yet. Never negative: debts are
    invoices, not a negative balance."""

    def change_terms(self, terms: PaymentTerms) -> BillingAccount:
        """The operator's decision; invoices already issued keep their due dates."""
        return replace(self, terms=terms)

    def credit(self, amount: Decimal) -> BillingAccount:
        """An overpayment or the unallocated rest of a payment goes to the balance."""
        return replace(self, balance=self.balance + check_positive_kopecks(amount))

    def debit(self, amount: Decimal) -> BillingAccount:
        """Take ``amount`` from the balance (a refund, an operator's allocation of it)."""
        amount = check_positive_kopecks(amount)
        if amount > self.balance:
            raise BalanceTooLow(self.balance, amount)
        return replace(self, balance=self.balance - amount)

    def apply_to_invoice(self, invoice_due: Decimal) -> BalanceApplication:
        """Pay as much of a new invoice as the balance covers (all of it, if it can).

        The service records ``applied`` as an allocation of the customer's advance to the
        invoice and, when ``invoice_due`` is zero, marks the invoice paid at once.
        """
        applied = min(self.balance, max(invoice_due, ZERO))
        return BalanceApplication(
            applied=applied,
            invoice_due=invoice_due - applied,
            account=replace(self, balance=self.balance - applied),
        )
