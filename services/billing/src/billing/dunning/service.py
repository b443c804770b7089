"""The dunning check: every open invoice past its due date, as of a given day.

**How billing asks for suspension.** The contract has one dunning event, ``invoice.overdue``,
and orders suspends what an overdue invoice bills once *its* grace period
(``ORDERS_SUSPENSION_GRACE_DAYS``) has run out since the due date, and resumes on
``invoice.paid``. So ``invoice.overdue``, published once per invoice, *is* the request for
suspension; billing does not publish it again. When billing's own grace
(``BILLING_DUNNING_GRACE_DAYS``, the same 10 days by default, counted the same way) is over,
billing records the suspension as asked for (a ``suspension`` notice the operator can read),
which is the day orders acts. Letting billing's setting drive orders would need the contract to
carry the date (an optional ``suspend_on`` on ``invoice.overdue``).

Reminders are recorded as notices (at the configured offsets, one per check); no contract event
carries them yet.

Invoices are taken in small batches ``FOR UPDATE SKIP LOCKED``: replicas running the check at
once share the invoices instead of queueing, and a notice's primary key keeps any step from
being recorded (or its event published) twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, exists, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.dunning.domain import DunningPolicy, DunningState, dunning_actions
from billing.dunning.models import DunningNotice
from billing.invoices.domain import OPEN_STATUSES
from billing.invoices.models import Invoice
from vitrina_contracts.events import billing as contract
from vitrina_kit.db import transaction
from vitrina_kit.outbox import add_event

BATCH_SIZE = 200


class NoticeKind:
    OVERDUE = "overdue"
    REMINDER = "reminder"
    SUSPENSION = "suspension"


@dataclass
class DunningOutcome:
    marked_overdue: int = 0
    reminders: int = 0
    suspensions: int = 0
    customers: set[uuid.UUID] = field(default_factory=set)


def _state(notices: Sequence[DunningNotice]) -> DunningState:
    return DunningState(
        marked_overdue=any(n.kind == NoticeKind.OVERDUE for n in notices),
        reminders_done=frozenset(n.offset_days for n in notices if n.kind == NoticeKind.REMINDER),
        suspension_requested=any(n.kind == NoticeKind.SUSPENSION for n in notices),
    )


async def _notice(
    session: AsyncSession, invoice: Invoice, kind: str, offset: int, *, on: date, sent: bool
) -> bool:
    """Record a step; False if it was recorded already (then nothing is published for it)."""
    recorded = await session.scalar(
        insert(DunningNotice)
        .values(
            invoice_id=invoice.invoice_id,
            kind=kind,
            offset_days=offset,
            customer_id=invoice.customer_id,
            noticed_on=on,
            sent=sent,
        )
        .on_conflict_do_nothing()
        .returning(DunningNotice.invoice_id)
    )
    return recorded is not None


async def _dun(
    session: AsyncSession, invoice: Invoice, state: DunningState, policy: DunningPolicy, on: date
) -> DunningOutcome:
    outcome = DunningOutcome()
    actions = dunning_actions(
        due_on=invoice.due_on, today=on, policy=policy, state=state, is_open=True
    )
    if actions.is_empty:
        return outcome
    outcome.customers.add(invoice.customer_id)
    if actions.mark_overdue and await _notice(
        session, invoice, NoticeKind.OVERDUE, 0, on=on, sent=True
    ):
        invoice.store(invoice.balance.mark_overdue())
        invoice.version += 1
        await session.flush()
        await add_event(
            session,
            contract.InvoiceOverdue(
                invoice=contract.InvoiceDocument.model_validate(invoice.document),
                amount_due=invoice.balance.amount_due,
            ),
            subject=str(invoice.invoice_id),
            aggregate_version=invoice.version,
            tenant_id=str(invoice.customer_id),
        )
        outcome.marked_overdue += 1
    for offset in sorted(actions.state.reminders_done - state.reminders_done):
        sent = offset == actions.reminder
        if await _notice(session, invoice, NoticeKind.REMINDER, offset, on=on, sent=sent) and sent:
            outcome.reminders += 1
    if actions.request_suspension and await _notice(
        session, invoice, NoticeKind.SUSPENSION, policy.grace_days, on=on, sent=True
    ):
        outcome.suspensions += 1
    return outcome


def _finished(policy: DunningPolicy) -> ColumnElement[bool]:
    """Dunning is over for an invoice once a step was recorded on or after the last day any
    step is due (the last reminder's, or the grace's end): long-unpaid invoices are not walked
    again every day."""
    horizon = max((*policy.reminder_offsets, policy.grace_days))
    return exists().where(
        DunningNotice.invoice_id == Invoice.invoice_id,
        DunningNotice.noticed_on >= Invoice.due_on + horizon,
    )


async def dunning_check(
    sessions: async_sessionmaker[AsyncSession],
    *,
    on: date,
    policy: DunningPolicy,
    batch_size: int = BATCH_SIZE,
) -> DunningOutcome:
    """Do what dunning owes every open invoice due before ``on``; one transaction a batch."""
    total = DunningOutcome()
    after: tuple[date, uuid.UUID] | None = None
    while True:
        async with transaction(sessions) as session:
            query = select(Invoice).where(
                Invoice.status.in_([status.value for status in OPEN_STATUSES]),
                Invoice.due_on < on,
                ~_finished(policy),
            )
            if after is not None:
                query = query.where(tuple_(Invoice.due_on, Invoice.invoice_id) > tuple_(*after))
            invoices = list(
                await session.scalars(
                    query.order_by(Invoice.due_on, Invoice.invoice_id)
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            if not invoices:
                return total
            notices: dict[uuid.UUID, list[DunningNotice]] = {}
            for notice in await session.scalars(
                select(DunningNotice).where(
                    DunningNotice.invoice_id.in_([i.invoice_id for i in invoices])
                )
            ):
                notices.setdefault(notice.invoice_id, []).append(notice)
            for invoice in invoices:
                state = _state(notices.get(invoice.invoice_id, []))
                done = await _dun(session, invoice, state, policy, on)
                total.marked_overdue += done.marked_overdue
                total.reminders += done.reminders
                total.suspensions += done.suspensions
                total.customers |= done.customers
            after = (invoices[-1].due_on, invoices[-1].invoice_id)
        if len(invoices) < batch_size:
            return total
