"""Payments: bank statement lines received, matched to invoices, allocated by the operator.

A statement line is recorded once: the payments table is unique on the bank's id for it *and*
on the line's identity in the bank's words (:func:`statement_line`), so the same line imported
again — redelivered, or re-imported by integrations under a new id — finds its row and changes
nothing.

Everything about a customer's money happens under the customer's account row lock
(:func:`billing.invoices.service.lock_account`), the lock invoicing takes too: a payment and an
invoice being issued to the same customer never interleave, so the balance applied to a new
invoice and the advance a payment leaves are never counted twice or lost. Invoices are locked
after the account, never before.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing.accounts.models import Account
from billing.invoices.domain import OPEN_STATUSES, InvoiceStatus
from billing.invoices.models import Invoice
from billing.invoices.service import lock_account
from billing.money import ZERO
from billing.organizations.models import Organization
from billing.payments.domain import (
    AllocationLine,
    IncomingPayment,
    Match,
    MatchOutcome,
    Payer,
    allocate_manually,
    invoice_numbers_in,
    match_payment,
)
from billing.payments.models import AllocationSource, Payment, PaymentAllocation, PaymentStatus
from vitrina_contracts.events import billing as contract
from vitrina_contracts.events.integrations import BankPayment
from vitrina_kit.auth import Caller
from vitrina_kit.ops import OperatorOnly
from vitrina_kit.outbox import add_event
from vitrina_kit.pagination import decode_cursor, encode_cursor
from vitrina_kit.problems import NotFound
from vitrina_kit.tenancy import visible_to


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    title = "No such payment"

    def __init__(self, payment_id: uuid.UUID) -> None:
        super().__init__(f"There is no payment {payment_id}.", payment_id=str(payment_id))


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    title = "No such invoice"

    def __init__(self, invoice_id: uuid.UUID) -> None:
        super().__init__(f"There is no invoice {invoice_id}.", invoice_id=str(invoice_id))


def statement_line(bank: BankPayment) -> str:
    """The statement line's identity as the bank states it: the payer's bank and account, the
    payment order's number and date, and the amount. A payment order number repeats across
    payers and years, so it is never the key alone."""
    amount = f"{bank.amount:.2f}"
    bic = bank.payer_bank_bic or "-"
    return "/".join((bic, bank.payer_account, bank.number, bank.paid_on.isoformat(), amount))


# Applying money to an invoice ---------------------------------------------------------------


async def apply_to_invoice(
    session: AsyncSession,
    invoice: Invoice,
    amount: Decimal,
    *,
    payment_id: uuid.UUID | None,
    source: str,
    allocated_by: str | None = None,
) -> None:
    """Record ``amount`` paid on ``invoice`` (its customer's account locked by the caller) and
    publish ``invoice.paid`` if nothing is due any more."""
    paid = invoice.balance.pay(amount)
    invoice.store(paid)
    session.add(
        PaymentAllocation(
            allocation_id=uuid.uuid4(),
            payment_id=payment_id,
            invoice_id=invoice.invoice_id,
            customer_id=invoice.customer_id,
            source=source,
            amount=amount,
            allocated_by=allocated_by,
        )
    )
    await session.flush()
    if paid.status is InvoiceStatus.PAID:
        invoice.version += 1
        payments = await session.scalars(
            select(PaymentAllocation.payment_id)
            .where(
                PaymentAllocation.invoice_id == invoice.invoice_id,
                PaymentAllocation.payment_id.is_not(None),
            )
            .group_by(PaymentAllocation.payment_id)
            .order_by(PaymentAllocation.payment_id)
        )
        await add_event(
            session,
            contract.InvoicePaid(
                invoice=contract.InvoiceDocument.model_validate(invoice.document),
                paid_at=datetime.now(UTC),
                payment_ids=tuple(p for p in payments if p is not None),
            ),
            subject=str(invoice.invoice_id),
            aggregate_version=invoice.version,
            tenant_id=str(invoice.customer_id),
        )


# Receiving a statement line -----------------------------------------------------------------


async def _payer(session: AsyncSession, bank: BankPayment) -> Payer | None:
    """The business customer with the payer's INN: the one with the payer's KPP among branches
    sharing an INN, else the only one. Several and none with the KPP: the operator decides."""
    if bank.payer_inn is None:
        return None
    rows = list(
        await session.execute(
            select(Organization.organization_id, Organization.kpp).where(
                Organization.inn == bank.payer_inn, Organization.kind == "business"
            )
        )
    )
    by_kpp = [row for row in rows if bank.payer_kpp and row.kpp == bank.payer_kpp]
    chosen = by_kpp if len(by_kpp) == 1 else rows
    if len(chosen) != 1:
        return None
    return Payer(chosen[0].organization_id, bank.payer_inn)


async def _invoices_for(
    session: AsyncSession, payer: Payer | None, numbers: Sequence[str]
) -> list[Invoice]:
    """The payer's open invoices (locked: the account lock is held) and the invoices the
    purpose names, whoever's, so a stranger's number is reported, never paid."""
    found: dict[uuid.UUID, Invoice] = {}
    if payer is not None:
        theirs = await session.scalars(
            select(Invoice)
            .where(
                Invoice.customer_id == payer.customer_id,
                Invoice.status.in_([status.value for status in OPEN_STATUSES]),
            )
            .order_by(Invoice.issued_on, Invoice.number)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found.update((invoice.invoice_id, invoice) for invoice in theirs)
    if numbers:
        named = await session.scalars(select(Invoice).where(Invoice.number.in_(numbers)))
        found.update((i.invoice_id, i) for i in named if i.invoice_id not in found)
    return list(found.values())


async def receive_bank_payment(session: AsyncSession, bank: BankPayment) -> Payment | None:
    """Record the statement line and apply it: to the invoices it pays, the rest to the
    payer's balance, or kept for the operator. None if the line was received before."""
    payer = await _payer(session, bank)
    account = await lock_account(session, payer.customer_id) if payer is not None else None
    payment_id = uuid.uuid4()
    document = contract.Payment(
        payment_id=payment_id,
        bank_payment_id=bank.bank_payment_id,
        received_on=bank.paid_on,
        amount=bank.amount,
        currency=bank.currency,
        payer_inn=bank.payer_inn,
        payer_name=bank.payer_name,
        purpose=bank.purpose,
    )
    # No conflict target: a clash on either unique key (the bank's id, the line) is the same line.
    inserted = await session.scalar(
        insert(Payment)
        .values(
            payment_id=payment_id,
            bank_payment_id=bank.bank_payment_id,
            statement_line=statement_line(bank),
            customer_id=None,
            received_on=bank.paid_on,
            amount=bank.amount,
            allocated=ZERO,
            advanced=ZERO,
            status=PaymentStatus.UNMATCHED.value,
            reason="",
            version=1,
            document=document.model_dump(mode="json"),
        )
        .on_conflict_do_nothing()
        .returning(Payment.payment_id)
    )
    if inserted is None:
        return None
    payment = await session.get(Payment, payment_id)
    assert payment is not None
    await add_event(
        session,
        contract.PaymentReceived(payment=document),
        subject=str(payment_id),
        aggregate_version=1,
    )

    invoices = await _invoices_for(session, payer, invoice_numbers_in(bank.purpose))
    incoming = IncomingPayment(payment_id, bank.paid_on, bank.amount, bank.payer_inn, bank.purpose)
    match = match_payment(incoming, payer=payer, invoices=[i.balance for i in invoices])
    await _record_match(session, payment, document, match, account, invoices)
    return payment


async def _record_match(
    session: AsyncSession,
    payment: Payment,
    document: contract.Payment,
    match: Match,
    account: Account | None,
    invoices: Sequence[Invoice],
) -> None:
    if match.outcome is MatchOutcome.UNMATCHED or account is None:
        payment.reason = match.reason
        payment.version = 2
        await session.flush()
        await add_event(
            session,
            contract.PaymentUnmatched(payment=document, reason=match.reason),
            subject=str(payment.payment_id),
            aggregate_version=2,
        )
        return
    payment.customer_id = account.customer_id
    by_id = {invoice.invoice_id: invoice for invoice in invoices}
    for line in match.allocations:
        await apply_to_invoice(
            session,
            by_id[line.invoice_id],
            line.amount,
            payment_id=payment.payment_id,
            source=AllocationSource.MATCHED.value,
        )
    payment.allocated = match.allocated
    if match.unallocated > ZERO:
        account.store(account.domain.credit(match.unallocated))
        payment.advanced = match.unallocated
    await session.flush()
    tenant = str(account.customer_id)
    if match.outcome is MatchOutcome.ADVANCE:
        # payment.allocated needs at least one invoice: an advance is told by payment.received
        # and the balance the customer reads; the reason stays on the payment.
        payment.status = PaymentStatus.ADVANCE.value
        payment.reason = match.reason
        return
    payment.status = PaymentStatus.ALLOCATED.value
    payment.version = 2
    await add_event(
        session,
        contract.PaymentAllocated(
            payment=document,
            customer_id=account.customer_id,
            allocations=_allocations(match.allocations),
            unallocated=match.unallocated,
        ),
        subject=str(payment.payment_id),
        aggregate_version=2,
        tenant_id=tenant,
    )


def _allocations(lines: Sequence[AllocationLine]) -> tuple[contract.Allocation, ...]:
    return tuple(
        contract.Allocation(
            invoice_id=a.invoice_id, invoice_number=a.invoice_number, amount=a.amount
        )
        for a in lines
    )


# The operator's allocation ------------------------------------------------------------------


async def allocate(
    session: AsyncSession,
    caller: Caller,
    payment_id: uuid.UUID,
    *,
    invoice_id: uuid.UUID,
    amount: Decimal,
) -> Payment:
    """Apply ``amount`` of a payment's unallocated money to an invoice (the operator's call,
    e.g. a third party paid for the customer). Refusals change nothing: the request's
    transaction rolls back with the problem."""
    if not caller.is_operator:
        raise OperatorOnly("Payments are allocated by the marketplace operator.")
    held = await session.get(Invoice, invoice_id)
    if held is None:
        raise InvoiceNotFound(invoice_id)
    await lock_account(session, held.customer_id)
    payment = await session.scalar(
        select(Payment)
        .where(Payment.payment_id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if payment is None:
        raise PaymentNotFound(payment_id)
    invoice = await session.scalar(
        select(Invoice)
        .where(Invoice.invoice_id == invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert invoice is not None  # invoices are never deleted
    decided = allocate_manually(payment.balance, invoice.balance, amount)
    await apply_to_invoice(
        session,
        invoice,
        decided.allocation.amount,
        payment_id=payment.payment_id,
        source=AllocationSource.MANUAL.value,
        allocated_by=caller.client_id,
    )
    payment.customer_id = invoice.customer_id
    payment.allocated += decided.allocation.amount
    payment.status = PaymentStatus.ALLOCATED.value if payment.unallocated == 0 else payment.status
    payment.version += 1
    await session.flush()
    await add_event(
        session,
        contract.PaymentAllocated(
            payment=contract.Payment.model_validate(payment.document),
            customer_id=invoice.customer_id,
            allocations=await _allocations_of(session, payment.payment_id),
            unallocated=payment.amount - payment.allocated,
        ),
        subject=str(payment.payment_id),
        aggregate_version=payment.version,
        tenant_id=str(invoice.customer_id),
    )
    return payment


async def _allocations_of(
    session: AsyncSession, payment_id: uuid.UUID
) -> tuple[contract.Allocation, ...]:
    """Every invoice the payment paid so far: the contract's allocations are cumulative
    (they and ``unallocated`` add up to the payment)."""
    rows = await session.execute(
        select(PaymentAllocation.invoice_id, Invoice.number, PaymentAllocation.amount)
        .join(Invoice, Invoice.invoice_id == PaymentAllocation.invoice_id)
        .where(PaymentAllocation.payment_id == payment_id)
        .order_by(PaymentAllocation.created_at, PaymentAllocation.allocation_id)
    )
    return _allocations([AllocationLine(i, n, a) for i, n, a in rows])


# Reading ------------------------------------------------------------------------------------


async def payments_page(
    session: AsyncSession,
    caller: Caller,
    *,
    cursor: str | None,
    limit: int,
    status: PaymentStatus | None = None,
    customer_id: uuid.UUID | None = None,
) -> tuple[list[Payment], str | None]:
    """The caller's payments, newest first; the operator sees all, unmatched ones included
    (a business never sees money not attributed to it)."""
    query = select(Payment).where(visible_to(caller, Payment.__table__.c.customer_id))
    if status is not None:
        query = query.where(Payment.status == status)
    if customer_id is not None:
        query = query.where(Payment.customer_id == customer_id)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(tuple_(Payment.created_at, Payment.payment_id) < tuple_(*after))
    query = query.order_by(Payment.created_at.desc(), Payment.payment_id.desc())
    rows = list(await session.scalars(query.limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = encode_cursor((rows[-1].created_at, rows[-1].payment_id)) if more else None
    return rows, next_cursor


async def get_payment(
    session: AsyncSession, caller: Caller, payment_id: uuid.UUID
) -> tuple[Payment, list[PaymentAllocation]]:
    payment = await session.scalar(
        select(Payment).where(
            Payment.payment_id == payment_id, visible_to(caller, Payment.__table__.c.customer_id)
        )
    )
    if payment is None:
        raise PaymentNotFound(payment_id)
    allocations = await session.scalars(
        select(PaymentAllocation)
        .where(PaymentAllocation.payment_id == payment_id)
        .order_by(PaymentAllocation.created_at, PaymentAllocation.allocation_id)
    )
    return payment, list(allocations)
