"""Matching bank payments to invoices, and the operator's manual allocation. Plain values.

A Russian bank transfer carries the payer's INN and a free-text purpose, typically «Оплата по
счёту № СЧ-2026-000123 от 01.12.2026, в т.ч. НДС 22% 990.00». Matching (:func:`match_payment`):

1. Invoice numbers are read from the purpose, in the order written (:func:`invoice_numbers_in`,
   tolerant of «счёт/счет», «№/N/No», spaces, dashes and dropped leading zeros).
2. Only invoices whose buyer's INN is the payer's INN are paid: money from a third party or with
   someone else's invoice number goes to the operator, never to a stranger's invoice.
3. The named invoices are paid in the order named, then the payer's other open invoices, oldest
   first; with no number in the purpose, an open invoice due exactly the payment's amount is
   taken as meant (the oldest, if several).
4. What is left is an advance on the customer's balance (applied to the next invoice).
5. A payer that is no customer, or a purpose that names nothing of the payer's and matches no
   amount, leaves the payment unmatched for the operator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from billing.invoices.domain import InvoiceBalance
from billing.invoices.numbering import DocumentKind, DocumentNumber
from billing.money import ZERO, check_positive_kopecks
from vitrina_kit.problems import Conflict, UnprocessableEntity

# Reading purposes ---------------------------------------------------------------------------

_DASH = r"\s*[-‐‑‒–—]\s*"
_YEAR = r"(?P<year>20[0-9]{2})"
_SEQUENCE = r"(?P<sequence>[0-9]{1,9})"
_FULL_NUMBER = re.compile(
    # «СЧ-2026-000123», «сч 2026-123», «2026-000123»: an optional prefix, the year, the sequence.
    # Not glued to other digits, and not an ISO date (2026-01-15): no «-dd» after the sequence.
    rf"(?<![0-9А-ЯЁа-яёA-Za-z])(?:(?:№|N[oо]?\.?)?\s*(?P<prefix>[А-ЯЁа-яёA-Za-z]{{2,3}})\s*-?\s*)?"
    rf"{_YEAR}{_DASH}{_SEQUENCE}"
    rf"(?![0-9])(?!{_DASH}[0-9])"
)
_SHORT_NUMBER = re.compile(
    # «счёту № 123 от 01.12.2026»: a bare sequence after the word «счёт», the year from the date.
    r"сч(?:[её]т[а-яё]*|\.)?\s*(?:№|N|No|#)?\s*(?P<sequence>[0-9]{1,9})\s*от\s*"
    r"[0-9]{1,2}\.[0-9]{1,2}\.(?P<year>20[0-9]{2})",
    re.IGNORECASE,
)
_LATIN_LOOKALIKES = str.maketrans("CcHh", "СсНн")  # «CЧ» typed with a Latin C


def invoice_numbers_in(purpose: str) -> tuple[str, ...]:
    """The invoice numbers a payment purpose names, canonical (``СЧ-2026-000123``), in the
    order written, each once. Numbers of other kinds (``УПД-2026-…``) are not invoices."""
    found: list[tuple[int, str, str]] = []
    for match in _FULL_NUMBER.finditer(purpose):
        prefix = (match["prefix"] or "").translate(_LATIN_LOOKALIKES).upper()
        if prefix and prefix != DocumentKind.INVOICE.prefix:
            continue
        found.append((match.start("year"), match["year"], match["sequence"]))
    for match in _SHORT_NUMBER.finditer(purpose):
        found.append((match.start(), match["year"], match["sequence"]))
    numbers: list[str] = []
    for _, year, sequence in sorted(found):
        if int(sequence) == 0:
            continue  # sequences start at 1: a zero is not a number we gave out
        number = str(DocumentNumber(DocumentKind.INVOICE, int(year), int(sequence)))
        if number not in numbers:
            numbers.append(number)
    return tuple(numbers)


# Matching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingPayment:
    """A bank statement line billing received (``bank_payment.imported``)."""

    payment_id: UUID
    received_on: date
    amount: Decimal
    payer_inn: str | None
    purpose: str


@dataclass(frozen=True)
class Payer:
    """The customer whose INN paid, from the identity projection."""

    customer_id: UUID
    inn: str


class MatchOutcome(StrEnum):
    ALLOCATED = "allocated"
    """Applied to invoices (and the rest, if any, to the balance): ``payment.allocated``."""
    ADVANCE = "advance"
    """A known customer, nothing to pay (the named invoices are paid already): all of it to the
    balance, applied to the next invoice."""
    UNMATCHED = "unmatched"
    """Kept for the operator: ``payment.unmatched`` with the reason."""


@dataclass(frozen=True)
class AllocationLine:
    """The part of a payment applied to one invoice (the contract's ``Allocation``)."""

    invoice_id: UUID
    invoice_number: str
    amount: Decimal


@dataclass(frozen=True)
class Match:
    outcome: MatchOutcome
    customer_id: UUID | None
    allocations: tuple[AllocationLine, ...]
    unallocated: Decimal
    """For ``allocated`` and ``advance``: credited to the customer's balance; for
    ``unmatched``: the whole payment, waiting for the operator."""
    reason: str = ""

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), ZERO)


def match_payment(
    payment: IncomingPayment,
    *,
    payer: Payer | None,
    invoices: Sequence[InvoiceBalance],
) -> Match:
    """Decide where ``payment`` goes (the module's docstring has the rules).

    The service passes the payer (the customer with the payer's INN, if any) and the invoices
    it can find: those named in the purpose (:func:`invoice_numbers_in`, whoever they belong
    to, so a mismatch can be reported) and the payer's open invoices. It then records the
    allocations with :meth:`InvoiceBalance.pay` and credits ``unallocated`` to the balance,
    unless the outcome is ``unmatched``.
    """
    amount = check_positive_kopecks(payment.amount)
    named = invoice_numbers_in(payment.purpose)
    if payer is None or payment.payer_inn is None or payer.inn != payment.payer_inn:
        return _unmatched(
            payment,
            "Плательщик не найден среди клиентов (ИНН "
            f"{payment.payer_inn or 'не указан'})"
            + ("; счета из назначения платежа не оплачены." if named else "."),
        )
    theirs = [
        i for i in invoices if i.buyer_inn == payer.inn and i.customer_id == payer.customer_id
    ]
    by_number = {i.number: i for i in theirs}
    strangers = [n for n in named if n not in by_number and any(i.number == n for i in invoices)]
    named_theirs = [by_number[n] for n in named if n in by_number]
    open_theirs = sorted(
        (i for i in theirs if i.is_open and i.amount_due > 0),
        key=lambda i: (i.issued_on, i.number),
    )
    if named and not named_theirs:
        why = (
            f"ИНН плательщика {payer.inn} не совпадает с ИНН покупателя по счёту "
            + ", ".join(strangers)
            if strangers
            else "Счёт " + ", ".join(named) + " из назначения платежа не найден"
        )
        return _unmatched(payment, why + ".")
    if named:
        queue = [i for i in named_theirs if i.is_open] + [
            i for i in open_theirs if i not in named_theirs
        ]
    else:
        exact = [i for i in open_theirs if i.amount_due == amount]
        if not exact:
            return _unmatched(
                payment,
                "В назначении платежа нет номера счёта, и ни один открытый счёт "
                f"не выставлен на сумму {amount}.",
            )
        queue = exact[:1]
    allocations, left = _allocate(amount, queue)
    if not allocations:
        return Match(
            MatchOutcome.ADVANCE,
            payer.customer_id,
            (),
            amount,
            "Счета из назначения платежа уже оплачены; сумма зачтена в аванс.",
        )
    return Match(MatchOutcome.ALLOCATED, payer.customer_id, tuple(allocations), left)


def _allocate(
    amount: Decimal, queue: Sequence[InvoiceBalance]
) -> tuple[list[AllocationLine], Decimal]:
    allocations: list[AllocationLine] = []
    left = amount
    for invoice in queue:
        if left <= 0:
            break
        part = min(left, invoice.amount_due)
        if part > 0:
            allocations.append(AllocationLine(invoice.invoice_id, invoice.number, part))
            left -= part
    return allocations, left


def _unmatched(payment: IncomingPayment, reason: str) -> Match:
    return Match(MatchOutcome.UNMATCHED, None, (), payment.amount, reason)


# The operator's manual allocation -----------------------------------------------------------


class AllocationExceedsPayment(UnprocessableEntity):
    code = "allocation_exceeds_payment"
    title = "More than the payment's unallocated amount"

    def __init__(self, unallocated: Decimal, amount: Decimal) -> None:
        super().__init__(
            f"The payment has {unallocated} unallocated; cannot allocate {amount}.",
            unallocated=str(unallocated),
        )


class InvoiceOfAnotherCustomer(Conflict):
    code = "invoice_of_another_customer"
    title = "The invoice belongs to another customer"

    def __init__(self, number: str) -> None:
        super().__init__(
            f"The payment is already a customer's money; invoice {number} is someone else's.",
            number=number,
        )


@dataclass(frozen=True)
class PaymentBalance:
    """A recorded payment as allocation sees it."""

    payment_id: UUID
    amount: Decimal
    customer_id: UUID | None = None
    """Whose money it is: set by matching or by the operator's first allocation."""
    allocated: Decimal = ZERO

    @property
    def unallocated(self) -> Decimal:
        return self.amount - self.allocated


@dataclass(frozen=True)
class ManualAllocation:
    payment: PaymentBalance
    invoice: InvoiceBalance
    allocation: AllocationLine


def allocate_manually(
    payment: PaymentBalance, invoice: InvoiceBalance, amount: Decimal
) -> ManualAllocation:
    """The operator applies ``amount`` of an unmatched (or partly allocated) payment to an
    invoice. The operator may override the INN rule (a third party paying for the customer),
    but a payment already attributed to one customer never pays another's invoice.

    Raises (nothing changes): ``InvalidAmount`` (422) for a non-positive or sub-kopeck
    amount, ``AllocationExceedsPayment`` / ``AllocationExceedsInvoice`` (422),
    ``InvoiceAlreadyPaid`` / ``InvoiceIsVoided`` / ``InvoiceOfAnotherCustomer`` (409).
    """
    amount = check_positive_kopecks(amount)
    invoice.check_payable()
    if payment.customer_id is not None and payment.customer_id != invoice.customer_id:
        raise InvoiceOfAnotherCustomer(invoice.number)
    if amount > payment.unallocated:
        raise AllocationExceedsPayment(payment.unallocated, amount)
    paid = invoice.pay(amount)
    return ManualAllocation(
        payment=PaymentBalance(
            payment.payment_id,
            payment.amount,
            invoice.customer_id,
            payment.allocated + amount,
        ),
        invoice=paid,
        allocation=AllocationLine(invoice.invoice_id, invoice.number, amount),
    )
