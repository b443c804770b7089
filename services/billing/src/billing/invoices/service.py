"""Issuing documents: invoices for payment, closing documents (UPD) and credit notes.

Every function works in its caller's transaction (a consumed event's, or one small step of a
billing run) and only flushes. Each takes the customer's account row lock first and only then
reads what is already issued, so two replicas running the same run, a repeated run, or an event
redelivered while a run works on the same customer queue on that lock and the later one finds
the work done. Behind the lock, the primary key of ``billed_periods`` and the unique
(customer, period) of closing documents are the fence: a period is billed and closed once.

The document number is taken last, just before the rows are written: the counter's row lock is
held until the transaction commits, so the shorter that stretch, the less issuers queue. The
period close goes further (:func:`close_customers`): a batch of customers in one transaction
prices every document first and then takes one contiguous block of numbers, so the counter is
locked once per batch, for its inserts and commit only, instead of once per customer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from billing.accounts.domain import DEFAULT_PREPAID_DAYS, PaymentTermsKind
from billing.accounts.models import Account
from billing.catalog.projection import pricing
from billing.invoices import documents, repository
from billing.invoices.documents import BuyerUnknown
from billing.invoices.domain import (
    InvoiceStatus,
    Line,
    Period,
    ServiceSegment,
    Totals,
    billing_period_on,
    lines_for,
    rebill,
)
from billing.invoices.models import (
    BilledPeriod,
    ClosingDocument,
    CreditNote,
    DocumentCounter,
    Invoice,
)
from billing.invoices.numbering import DocumentKind, DocumentNumber
from billing.invoices.printing import PrintFormat, Printout, render
from billing.money import ZERO
from billing.organizations.models import Organization
from billing.payments.models import AllocationSource, PaymentAllocation
from billing.subscriptions.domain import (
    Entry,
    PlanPricing,
    UnknownPlan,
    billing_anchor,
    service_history,
)
from billing.subscriptions.models import Subscription
from vitrina_contracts.events import billing as contract
from vitrina_kit.auth import Caller
from vitrina_kit.outbox import add_event
from vitrina_kit.pagination import decode_cursor, encode_cursor
from vitrina_kit.problems import NotFound

logger = logging.getLogger(__name__)

AWAITING_FIRST_PAYMENT = frozenset({"pending", "trial"})
"""Renewals wait until the first invoice is paid: one unpaid invoice at a time is enough."""


@dataclass
class Plans:
    """The catalog's plans as billing prices them, read once per run (or event) and kept."""

    known: dict[uuid.UUID, PlanPricing] = field(default_factory=dict)

    async def load(self, session: AsyncSession, plan_ids: Iterable[uuid.UUID]) -> None:
        missing = {plan_id for plan_id in plan_ids if plan_id not in self.known}
        if missing:
            self.known.update(await pricing(session, missing))

    async def for_subscriptions(
        self, session: AsyncSession, subscriptions: Iterable[Subscription]
    ) -> Mapping[uuid.UUID, PlanPricing]:
        ids: set[uuid.UUID] = set()
        for subscription in subscriptions:
            ids.add(subscription.plan_id)
            ids.update(entry.plan_id for entry in subscription.service if entry.plan_id)
        await self.load(session, ids)
        return self.known


@dataclass(frozen=True)
class PeriodBill:
    """The lines billing one subscription's price period (or, for a change, its charges)."""

    subscription_id: uuid.UUID
    period: Period | None
    """None for a change's charges: the period is already billed and stays so."""
    segments: tuple[ServiceSegment, ...]
    lines: tuple[Line, ...]


# The account: lock first ------------------------------------------------------------------


async def lock_accounts(session: AsyncSession, customer_ids: Iterable[uuid.UUID]) -> None:
    """:func:`lock_account` for many customers in two statements, locking in customer order:
    two transactions that share customers then queue on the first shared one instead of
    deadlocking."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    await session.execute(
        upsert(Account)
        .values(
            [
                {
                    "customer_id": customer_id,
                    "terms_kind": PaymentTermsKind.PREPAID.value,
                    "terms_days": DEFAULT_PREPAID_DAYS,
                    "balance": ZERO,
                }
                for customer_id in ids
            ]
        )
        .on_conflict_do_nothing()
    )
    await session.execute(
        select(Account.customer_id)
        .where(Account.customer_id.in_(ids))
        .order_by(Account.customer_id)
        .with_for_update()
    )


async def lock_account(session: AsyncSession, customer_id: uuid.UUID) -> Account:
    """The customer's account, created on first need (prepaid), locked for the transaction."""
    locked = (
        select(Account)
        .where(Account.customer_id == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    # Most customers have one already: one round trip. A customer's first need creates it
    # (ON CONFLICT: a concurrent first need may create it first) and locks it then.
    account = await session.scalar(locked)
    if account is None:
        await session.execute(
            upsert(Account)
            .values(
                customer_id=customer_id,
                terms_kind=PaymentTermsKind.PREPAID.value,
                terms_days=DEFAULT_PREPAID_DAYS,
                balance=ZERO,
            )
            .on_conflict_do_nothing()
        )
        account = await session.scalar(locked)
    assert account is not None  # inserted above, and accounts are never deleted
    return account


async def next_number(session: AsyncSession, kind: DocumentKind, year: int) -> str:
    """The next number of ``kind`` in ``year``; the counter stays locked until commit."""
    [number] = await take_numbers(session, kind, year, 1)
    return number


async def take_numbers(
    session: AsyncSession, kind: DocumentKind, year: int, count: int
) -> list[str]:
    """The next ``count`` numbers of ``kind`` in ``year``, consecutive, in one statement.

    The counter stays locked until the transaction ends: committed, the numbers are used;
    rolled back, they were never taken. That is what keeps numbering free of gaps.
    """
    if count < 1:
        raise ValueError("take at least one number")
    statement = upsert(DocumentCounter).values(kind=kind.value, year=year, last_sequence=count)
    last = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=[DocumentCounter.kind, DocumentCounter.year],
            set_={"last_sequence": DocumentCounter.last_sequence + count},
        ).returning(DocumentCounter.last_sequence)
    )
    assert last is not None
    return [
        str(DocumentNumber(kind, year, sequence)) for sequence in range(last - count + 1, last + 1)
    ]


async def _buyer(session: AsyncSession, customer_id: uuid.UUID) -> contract.Party:
    return documents.buyer(await session.get(Organization, customer_id), customer_id)


# Invoices for payment ---------------------------------------------------------------------


def first_bill(subscription: Subscription, plans: Mapping[uuid.UUID, PlanPricing]) -> PeriodBill:
    """The first period, from the start (or the trial's end) to its price period's end, on
    the terms the subscription was ordered with, as if it is paid.

    Raises:
        UnknownPlan: the catalog has not told billing about the plan yet.
    """
    pricing_ = plans.get(subscription.plan_id)
    if pricing_ is None:
        raise UnknownPlan(subscription.plan_id)
    first_day = subscription.first_day
    anchor = billing_anchor(subscription.period_anchor, pricing_.terms.billing_period)
    period = billing_period_on(anchor, pricing_.terms.billing_period, first_day)
    planned = (
        Entry(first_day, subscription.plan_id, subscription.quantity, subscription.period_anchor),
    )
    segments = service_history(planned, plans).segments(Period(first_day, period.ends_on))
    return PeriodBill(
        subscription.subscription_id,
        period,
        segments,
        lines_for(subscription.subscription_id, segments, period),
    )


def renewal_bill(
    subscription: Subscription, plans: Mapping[uuid.UUID, PlanPricing], *, on: date
) -> PeriodBill | None:
    """The price period containing ``on``, as the subscription's service plans it; None when
    there is no service on that day (suspended, ended, in a trial).

    Raises:
        UnknownPlan: the catalog has not told billing about a plan of the subscription.
    """
    if subscription.status in AWAITING_FIRST_PAYMENT:
        return None
    history = service_history(subscription.service, plans)
    today = history.segments(Period(on, on + timedelta(days=1)))
    if not today:
        return None
    terms = today[0]
    period = billing_period_on(terms.anchor, terms.plan.billing_period, on)
    segments = history.segments(period)
    return PeriodBill(
        subscription.subscription_id,
        period,
        segments,
        lines_for(subscription.subscription_id, segments, period),
    )


@dataclass(frozen=True)
class Skipped:
    """A customer (or a subscription of it) a step could not document, and why."""

    customer_id: uuid.UUID
    reason: str


async def bill_customer(
    session: AsyncSession,
    seller: contract.Party,
    customer_id: uuid.UUID,
    *,
    on: date,
    plans: Plans | None = None,
    only: Subscription | None = None,
) -> Invoice | Skipped | None:
    """Invoice what the customer's subscriptions still owe as of ``on``: first periods not
    invoiced yet, and the price period containing ``on`` of every paying subscription. One
    invoice for all of it, dated ``on``; None when everything is invoiced already.

    ``only`` restricts it to one subscription of the customer (its ``subscription.created``),
    which the caller has just applied and holds locked: it is not read again.
    """
    plans = plans or Plans()
    account = await lock_account(session, customer_id)
    if only is not None:
        subscriptions = [only]
    else:
        query = select(Subscription).where(Subscription.customer_id == customer_id)
        subscriptions = list(await session.scalars(query.order_by(Subscription.starts_on)))
    if not subscriptions:
        return None
    ids = [subscription.subscription_id for subscription in subscriptions]
    rows = await session.execute(
        select(BilledPeriod.subscription_id, BilledPeriod.period_starts_on).where(
            BilledPeriod.subscription_id.in_(ids)
        )
    )
    billed = {(subscription, starts_on) for subscription, starts_on in rows}
    ever_billed = {subscription for subscription, _ in billed}
    known = await plans.for_subscriptions(session, subscriptions)

    bills: list[PeriodBill] = []
    unknown: list[str] = []
    for subscription in subscriptions:
        sid = subscription.subscription_id
        try:
            candidates: list[PeriodBill | None] = []
            if sid not in ever_billed and not subscription.is_ended:
                candidates.append(first_bill(subscription, known))
            candidates.append(renewal_bill(subscription, known, on=on))
        except UnknownPlan:
            unknown.append(str(sid))
            continue
        for bill in candidates:
            if bill is None or bill.period is None or not bill.lines:
                continue
            if (sid, bill.period.starts_on) not in billed:
                billed.add((sid, bill.period.starts_on))
                bills.append(bill)
    if not bills:
        if unknown:
            return Skipped(customer_id, f"plans not known yet for {', '.join(unknown)}")
        return None
    try:
        buyer = await _buyer(session, customer_id)
    except BuyerUnknown:
        return Skipped(customer_id, "the buyer's requisites have not reached billing yet")
    return await issue_invoice(
        session, seller, buyer, account, bills, reason="period", issued_on=on
    )


async def issue_invoice(
    session: AsyncSession,
    seller: contract.Party,
    buyer: contract.Party,
    account: Account,
    bills: Sequence[PeriodBill],
    *,
    reason: str,
    issued_on: date,
) -> Invoice:
    """Issue one invoice for ``bills`` (the account locked by the caller), pay what the
    balance covers, record the periods billed and publish ``invoice.issued``."""
    lines = [line for bill in bills for line in bill.lines]
    totals = Totals.of(lines)
    starts_on = min(line.days.starts_on for line in lines)
    ends_on = max(line.days.ends_on for line in lines)
    terms = account.domain.terms
    due_on = terms.due_on(issued_on=issued_on, period_starts_on=starts_on, period_ends_on=ends_on)
    application = account.domain.apply_to_invoice(totals.total)
    # A free plan owes nothing: its invoice is paid the moment it exists (orders activates).
    paid = application.invoice_due == ZERO

    invoice_id = uuid.uuid4()
    number = await next_number(session, DocumentKind.INVOICE, issued_on.year)
    document = contract.InvoiceDocument(
        document_id=invoice_id,
        number=number,
        issued_on=issued_on,
        seller=seller,
        buyer=buyer,
        lines=documents.document_lines(lines),
        amount_net=totals.net,
        vat_amount=totals.vat,
        amount_total=totals.total,
        due_on=due_on,
    )
    invoice = Invoice(
        invoice_id=invoice_id,
        number=number,
        customer_id=account.customer_id,
        reason=reason,
        issued_on=issued_on,
        due_on=due_on,
        amount_net=totals.net,
        vat_amount=totals.vat,
        amount_total=totals.total,
        amount_paid=application.applied,
        status=(InvoiceStatus.PAID if paid else InvoiceStatus.ISSUED).value,
        version=2 if paid else 1,
        document=document.model_dump(mode="json"),
    )
    session.add(invoice)
    await session.flush()  # the invoice before the periods that refer to it
    session.add_all(
        BilledPeriod(
            subscription_id=bill.subscription_id,
            period_starts_on=bill.period.starts_on,
            period_ends_on=bill.period.ends_on,
            invoice_id=invoice_id,
            segments=[documents.segment_to_json(segment) for segment in bill.segments],
        )
        for bill in bills
        if bill.period is not None
    )
    if application.applied > ZERO:
        # The advance paid (part of) it: recorded like any payment, so the invoice's money
        # can always be traced to where it came from.
        session.add(
            PaymentAllocation(
                allocation_id=uuid.uuid4(),
                payment_id=None,
                invoice_id=invoice_id,
                customer_id=account.customer_id,
                source=AllocationSource.BALANCE.value,
                amount=application.applied,
            )
        )
    account.store(application.account)
    await session.flush()
    tenant = str(account.customer_id)
    await add_event(
        session,
        contract.InvoiceIssued(invoice=document),
        subject=str(invoice_id),
        aggregate_version=1,
        tenant_id=tenant,
    )
    if paid:
        await add_event(
            session,
            contract.InvoicePaid(invoice=document, paid_at=datetime.now(UTC)),
            subject=str(invoice_id),
            aggregate_version=2,
            tenant_id=tenant,
        )
    return invoice


# Closing documents ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rendered:
    """A customer's month priced, waiting for its number."""

    customer_id: uuid.UUID
    buyer: contract.Party
    lines: list[Line]


async def close_customers(
    session: AsyncSession,
    seller: contract.Party,
    customer_ids: Sequence[uuid.UUID],
    month: Period,
    *,
    plans: Plans | None = None,
) -> dict[uuid.UUID, ClosingDocument | Skipped | None]:
    """The UPD for the services rendered to each customer in ``month``: every subscription's
    days of service in it (changes, cancellations and suspensions as they happened), dated the
    month's last day; by customer, None when it exists already or nothing was rendered.

    The batch is the caller's one transaction: everything is read in a few statements for all
    of it and every document priced before it takes its numbers, one contiguous block. The
    counter is locked from then to the commit, so the batch holds it for its inserts only. The
    batch commits or rolls back whole, numbers included: a failure leaves no gap and no
    half-closed customer.
    """
    plans = plans or Plans()
    ids = sorted(set(customer_ids))
    outcomes: dict[uuid.UUID, ClosingDocument | Skipped | None] = dict.fromkeys(ids)
    await lock_accounts(session, ids)
    closed = set(
        await session.scalars(
            select(ClosingDocument.customer_id).where(
                ClosingDocument.customer_id.in_(ids),
                ClosingDocument.period_starts_on == month.starts_on,
            )
        )
    )
    open_ids = [customer_id for customer_id in ids if customer_id not in closed]
    if not open_ids:
        return outcomes
    subscriptions = list(
        await session.scalars(
            select(Subscription)
            .where(
                Subscription.customer_id.in_(open_ids),
                Subscription.service_starts_on < month.ends_on,
                (Subscription.service_ends_on.is_(None))
                | (Subscription.service_ends_on > month.starts_on),
            )
            .order_by(
                Subscription.customer_id, Subscription.starts_on, Subscription.subscription_id
            )
        )
    )
    known = await plans.for_subscriptions(session, subscriptions)
    organizations = {
        organization.organization_id: organization
        for organization in await session.scalars(
            select(Organization).where(Organization.organization_id.in_(open_ids))
        )
    }
    by_customer: dict[uuid.UUID, list[Subscription]] = {}
    for subscription in subscriptions:
        by_customer.setdefault(subscription.customer_id, []).append(subscription)

    rendered: list[_Rendered] = []
    for customer_id in open_ids:
        outcome = _render(
            customer_id, by_customer.get(customer_id, []), known, organizations, month
        )
        if isinstance(outcome, _Rendered):
            rendered.append(outcome)
        else:
            outcomes[customer_id] = outcome
    if not rendered:
        return outcomes

    issued_on = month.last_day
    numbers = await take_numbers(
        session, DocumentKind.CLOSING_DOCUMENT, issued_on.year, len(rendered)
    )
    for each, number in zip(rendered, numbers, strict=True):
        totals = Totals.of(each.lines)
        document = contract.ClosingDocument(
            document_id=uuid.uuid4(),
            number=number,
            issued_on=issued_on,
            seller=seller,
            buyer=each.buyer,
            lines=documents.document_lines(each.lines),
            amount_net=totals.net,
            vat_amount=totals.vat,
            amount_total=totals.total,
            period_start=month.starts_on,
            period_end=month.last_day,
        )
        row = ClosingDocument(
            document_id=document.document_id,
            number=number,
            customer_id=each.customer_id,
            period_starts_on=month.starts_on,
            period_ends_on=month.ends_on,
            issued_on=issued_on,
            amount_net=totals.net,
            vat_amount=totals.vat,
            amount_total=totals.total,
            document=document.model_dump(mode="json"),
        )
        session.add(row)
        await add_event(
            session,
            contract.ClosingDocumentIssued(document=document),
            subject=str(document.document_id),
            aggregate_version=1,
            tenant_id=str(each.customer_id),
        )
        outcomes[each.customer_id] = row
    await session.flush()  # all the batch's rows in a few multi-row INSERTs
    return outcomes


def _render(
    customer_id: uuid.UUID,
    subscriptions: Sequence[Subscription],
    plans: Mapping[uuid.UUID, PlanPricing],
    organizations: Mapping[uuid.UUID, Organization],
    month: Period,
) -> _Rendered | Skipped | None:
    """One customer's month as lines, or why it cannot be documented yet (None: nothing was
    rendered)."""
    lines: list[Line] = []
    for subscription in subscriptions:
        try:
            history = service_history(subscription.service, plans)
        except UnknownPlan:
            return Skipped(customer_id, f"plans not known yet for {subscription.subscription_id}")
        lines.extend(lines_for(subscription.subscription_id, history.segments(month), month))
    if not lines:
        return None
    try:
        buyer = documents.buyer(organizations.get(customer_id), customer_id)
    except BuyerUnknown:
        return Skipped(customer_id, "the buyer's requisites have not reached billing yet")
    return _Rendered(customer_id, buyer, lines)


# Changes: credit notes and additional invoices ---------------------------------------------


@dataclass(frozen=True)
class Repriced:
    credit_notes: tuple[CreditNote, ...] = ()
    invoice: Invoice | None = None


async def reprice(
    session: AsyncSession,
    seller: contract.Party,
    subscription: Subscription,
    *,
    effective_on: date,
    issued_on: date,
    reason: str,
) -> Repriced:
    """Bring the periods already invoiced in line with the subscription's service as it now
    stands from ``effective_on``: a credit note for what was billed on those days, correcting
    the invoice that billed them, and one invoice for the new terms' charges.

    A credit first reduces what is still due on the invoice it corrects; the rest (the
    invoice was paid) goes to the customer's balance, applied to the next invoice.
    """
    account = await lock_account(session, subscription.customer_id)
    periods = list(
        await session.scalars(
            select(BilledPeriod)
            .where(
                BilledPeriod.subscription_id == subscription.subscription_id,
                BilledPeriod.period_ends_on > effective_on,
            )
            .order_by(BilledPeriod.period_starts_on)
            .with_for_update()
        )
    )
    if not periods:
        return Repriced()
    plans = await Plans().for_subscriptions(session, [subscription])
    try:
        history = service_history(subscription.service, plans)
        buyer = await _buyer(session, subscription.customer_id)
    except (UnknownPlan, BuyerUnknown) as missing:
        # Both arrive before any invoice can exist (the invoice needed them), so this is a
        # projection lost and rebuilt: say so loudly rather than credit on a guess.
        logger.error(
            "cannot reprice a change without its plan or buyer",
            extra={"subscription_id": str(subscription.subscription_id), "missing": str(missing)},
        )
        return Repriced()

    credits: dict[uuid.UUID, list[Line]] = {}
    charges: list[Line] = []
    for billed_period in periods:
        period = Period(billed_period.period_starts_on, billed_period.period_ends_on)
        billed = tuple(documents.segment_from_json(value) for value in billed_period.segments)
        adjustment, revised = rebill(
            subscription.subscription_id,
            billed=billed,
            planned=history.segments(period),
            period=period,
            effective_on=effective_on,
        )
        billed_period.segments = [documents.segment_to_json(segment) for segment in revised]
        credits.setdefault(billed_period.invoice_id, []).extend(adjustment.credits)
        charges.extend(adjustment.charges)

    notes = []
    for invoice_id, lines in credits.items():
        if lines:
            notes.append(
                await _issue_credit_note(
                    session, seller, buyer, account, invoice_id, lines, issued_on, reason
                )
            )
    invoice = None
    if charges:
        bill = PeriodBill(subscription.subscription_id, None, (), tuple(charges))
        invoice = await issue_invoice(
            session, seller, buyer, account, [bill], reason="change", issued_on=issued_on
        )
    return Repriced(tuple(notes), invoice)


async def _issue_credit_note(
    session: AsyncSession,
    seller: contract.Party,
    buyer: contract.Party,
    account: Account,
    invoice_id: uuid.UUID,
    lines: Sequence[Line],
    issued_on: date,
    reason: str,
) -> CreditNote:
    invoice = await session.scalar(
        select(Invoice).where(Invoice.invoice_id == invoice_id).with_for_update()
    )
    assert invoice is not None  # billed_periods refers to it
    totals = Totals.of(lines)
    balance = invoice.balance
    applied = min(totals.total, balance.amount_due) if balance.is_open else ZERO
    if applied > ZERO:
        balance = balance.pay(applied)
        invoice.store(balance)
        invoice.version += 1
    rest = totals.total - applied
    if rest > ZERO:
        account.store(account.domain.credit(rest))

    document_id = uuid.uuid4()
    number = await next_number(session, DocumentKind.CREDIT_NOTE, issued_on.year)
    document = contract.CreditNote(
        document_id=document_id,
        number=number,
        issued_on=issued_on,
        seller=seller,
        buyer=buyer,
        lines=documents.document_lines(lines),
        amount_net=totals.net,
        vat_amount=totals.vat,
        amount_total=totals.total,
        corrected_document_id=invoice.invoice_id,
        corrected_document_number=invoice.number,
        corrected_document_issued_on=invoice.issued_on,
        reason=reason,
    )
    note = CreditNote(
        document_id=document_id,
        number=number,
        customer_id=account.customer_id,
        corrected_invoice_id=invoice.invoice_id,
        issued_on=issued_on,
        amount_net=totals.net,
        vat_amount=totals.vat,
        amount_total=totals.total,
        document=document.model_dump(mode="json"),
    )
    session.add(note)
    await session.flush()
    tenant = str(account.customer_id)
    await add_event(
        session,
        contract.CreditNoteIssued(credit_note=document),
        subject=str(document_id),
        aggregate_version=1,
        tenant_id=tenant,
    )
    if applied > ZERO and balance.status is InvoiceStatus.PAID:
        # The credit settled what was due: nothing is owed on it any more (orders, dunning).
        await add_event(
            session,
            contract.InvoicePaid(
                invoice=contract.InvoiceDocument.model_validate(invoice.document),
                paid_at=datetime.now(UTC),
            ),
            subject=str(invoice.invoice_id),
            aggregate_version=invoice.version,
            tenant_id=tenant,
        )
    return note


# Reading ----------------------------------------------------------------------------------


class DocumentNotFound(NotFound):
    code = "document_not_found"
    title = "No such document"

    def __init__(self, what: str, document_id: uuid.UUID) -> None:
        super().__init__(f"There is no {what} {document_id}.", document_id=str(document_id))


async def _page(
    session: AsyncSession,
    caller: Caller,
    model: type[repository.D],
    *,
    cursor: str | None,
    limit: int,
    customer_id: uuid.UUID | None,
) -> tuple[list[repository.D], str | None]:
    rows = list(
        await repository.page(
            session,
            caller,
            model,
            after=decode_cursor(cursor),
            limit=limit + 1,
            customer_id=customer_id,
        )
    )
    more, rows = len(rows) > limit, rows[:limit]
    if not more:
        return rows, None
    last = rows[-1]
    key = last.invoice_id if isinstance(last, Invoice) else last.document_id
    return rows, encode_cursor((last.created_at, key))


async def invoices_page(
    session: AsyncSession,
    caller: Caller,
    *,
    cursor: str | None,
    limit: int,
    customer_id: uuid.UUID | None = None,
) -> tuple[list[Invoice], str | None]:
    return await _page(
        session, caller, Invoice, cursor=cursor, limit=limit, customer_id=customer_id
    )


async def closing_documents_page(
    session: AsyncSession,
    caller: Caller,
    *,
    cursor: str | None,
    limit: int,
    customer_id: uuid.UUID | None = None,
) -> tuple[list[ClosingDocument], str | None]:
    return await _page(
        session, caller, ClosingDocument, cursor=cursor, limit=limit, customer_id=customer_id
    )


async def credit_notes_page(
    session: AsyncSession,
    caller: Caller,
    *,
    cursor: str | None,
    limit: int,
    customer_id: uuid.UUID | None = None,
) -> tuple[list[CreditNote], str | None]:
    return await _page(
        session, caller, CreditNote, cursor=cursor, limit=limit, customer_id=customer_id
    )


async def get_invoice(session: AsyncSession, caller: Caller, invoice_id: uuid.UUID) -> Invoice:
    invoice = await repository.get_visible(session, caller, Invoice, invoice_id)
    if invoice is None:
        raise DocumentNotFound("invoice", invoice_id)
    return invoice


async def printable_invoice(
    session: AsyncSession, caller: Caller, invoice_id: uuid.UUID, output: PrintFormat
) -> Printout:
    """The caller's invoice to print, as the document it was issued with."""
    invoice = await get_invoice(session, caller, invoice_id)
    document = contract.InvoiceDocument.model_validate(invoice.document)
    if output is PrintFormat.HTML:
        return render(document, output)
    # Drawing a PDF is tens of milliseconds of pure CPU: off the event loop, so the other
    # requests this worker serves do not wait for it.
    return await run_in_threadpool(render, document, output)


async def get_closing_document(
    session: AsyncSession, caller: Caller, document_id: uuid.UUID
) -> ClosingDocument:
    document = await repository.get_visible(session, caller, ClosingDocument, document_id)
    if document is None:
        raise DocumentNotFound("closing document", document_id)
    return document


async def get_credit_note(
    session: AsyncSession, caller: Caller, document_id: uuid.UUID
) -> CreditNote:
    note = await repository.get_visible(session, caller, CreditNote, document_id)
    if note is None:
        raise DocumentNotFound("credit note", document_id)
    return note
