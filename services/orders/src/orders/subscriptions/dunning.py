"""What dunning remembers of invoices: which are overdue, which are paid, which it acted on.

Billing says *that* an invoice is overdue; orders decides *when* that suspends (the grace
period is orders' setting): the scheduler acts on overdue invoices whose grace has run out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from orders.subscriptions.domain import day_of
from orders.subscriptions.models import DunningInvoice


async def record_overdue(
    session: AsyncSession,
    *,
    invoice_id: uuid.UUID,
    invoice_number: str,
    due_on: date,
    subscription_id: uuid.UUID,
    amount_due: Decimal,
    at: datetime,
) -> None:
    """Remember that the invoice is overdue (again: the first notice's time is kept)."""
    statement = upsert(DunningInvoice).values(
        invoice_id=invoice_id,
        subscription_id=subscription_id,
        invoice_number=invoice_number,
        due_on=due_on,
        amount_due=amount_due,
        overdue_at=at,
    )
    held = DunningInvoice.__table__.c
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[DunningInvoice.invoice_id, DunningInvoice.subscription_id],
            set_={
                "overdue_at": func.coalesce(held.overdue_at, statement.excluded.overdue_at),
                "amount_due": statement.excluded.amount_due,
            },
        )
    )


async def record_paid(
    session: AsyncSession,
    *,
    invoice_id: uuid.UUID,
    invoice_number: str,
    due_on: date,
    subscription_id: uuid.UUID,
    at: datetime,
) -> None:
    """Remember that the invoice is paid: its overdue notice, earlier or late, suspends nothing."""
    statement = upsert(DunningInvoice).values(
        invoice_id=invoice_id,
        subscription_id=subscription_id,
        invoice_number=invoice_number,
        due_on=due_on,
        paid_at=at,
    )
    held = DunningInvoice.__table__.c
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[DunningInvoice.invoice_id, DunningInvoice.subscription_id],
            set_={"paid_at": func.coalesce(held.paid_at, statement.excluded.paid_at)},
        )
    )


async def still_owes(
    session: AsyncSession, subscription_id: uuid.UUID, *, besides: uuid.UUID
) -> bool:
    """Whether another invoice of the subscription is unpaid past its grace period (dunning
    acted on it): then paying one invoice does not lift the suspension."""
    owed = select(DunningInvoice).where(
        DunningInvoice.subscription_id == subscription_id,
        DunningInvoice.invoice_id != besides,
        DunningInvoice.paid_at.is_(None),
        DunningInvoice.acted_at.is_not(None),
    )
    return bool(await session.scalar(select(exists(owed))))


async def lock_grace_over(
    session: AsyncSession, *, by: datetime, grace_days: int, limit: int
) -> Sequence[DunningInvoice]:
    """Lock up to ``limit`` overdue, unpaid invoices whose grace period is over by ``by``.

    The grace is over from the start of the day ``grace_days`` after the due date (a grace of 0:
    from the due date), said as a bound on ``due_on`` so that its index serves the query.
    SKIP LOCKED keeps scheduler replicas apart.
    """
    last_due_on = day_of(by) - timedelta(days=grace_days)
    rows = await session.scalars(
        select(DunningInvoice)
        .where(
            DunningInvoice.overdue_at.is_not(None),
            DunningInvoice.paid_at.is_(None),
            DunningInvoice.acted_at.is_(None),
            DunningInvoice.due_on <= last_due_on,
        )
        .order_by(DunningInvoice.due_on)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return rows.all()
