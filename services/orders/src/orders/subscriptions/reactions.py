"""Subscriptions reacting to other services' events: billing's payments and dunning notices,
integrations' provisioning outcomes.

The consumer's inbox drops a redelivered event; these reactions are idempotent by state too
(the domain's reactions return None when there is nothing to do), so the same fact told twice
under two event ids, or late from a retry topic, changes nothing. A subscription orders does not
know is skipped with a warning: no retry would make it appear.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from orders.subscriptions import dunning, repository
from orders.subscriptions.domain import ProvisioningOutcome, Subscription, SubscriptionStatus
from orders.subscriptions.service import catch_up, store
from vitrina_contracts.events.billing import InvoiceDocument

logger = logging.getLogger(__name__)


def billed_subscriptions(invoice: InvoiceDocument) -> list[uuid.UUID]:
    """The subscriptions an invoice bills, each once, in line order."""
    ids = (line.subscription_id for line in invoice.lines if line.subscription_id is not None)
    return list(dict.fromkeys(ids))


async def invoice_paid(session: AsyncSession, invoice: InvoiceDocument, *, at: datetime) -> None:
    """Activate what the invoice's first payment starts, convert trials, lift suspensions for
    non-payment unless another invoice is still overdue past its grace."""
    for subscription_id in billed_subscriptions(invoice):
        subscription = await _known(session, subscription_id, invoice=invoice.number)
        if subscription is None:
            continue
        await dunning.record_paid(
            session,
            invoice_id=invoice.document_id,
            invoice_number=invoice.number,
            due_on=invoice.due_on,
            subscription_id=subscription_id,
            at=at,
        )
        subscription = await catch_up(session, subscription, to=at)
        if subscription.status is SubscriptionStatus.SUSPENDED and await dunning.still_owes(
            session, subscription_id, besides=invoice.document_id
        ):
            continue
        transition = subscription.invoice_paid(at=at)
        if transition is not None:
            await store(session, transition)


async def invoice_overdue(
    session: AsyncSession, invoice: InvoiceDocument, *, amount_due: Decimal, at: datetime
) -> None:
    """Remember the overdue invoice; the scheduler suspends once the grace period is over."""
    for subscription_id in billed_subscriptions(invoice):
        if await _known(session, subscription_id, invoice=invoice.number) is None:
            continue
        await dunning.record_overdue(
            session,
            invoice_id=invoice.document_id,
            invoice_number=invoice.number,
            due_on=invoice.due_on,
            subscription_id=subscription_id,
            amount_due=amount_due,
            at=at,
        )


async def provisioning_outcome(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    outcome: ProvisioningOutcome,
    message: str,
    at: datetime,
) -> None:
    """Keep the partner's latest answer on the subscription, for the customer to see."""
    subscription = await repository.get(session, subscription_id)
    if subscription is None:
        logger.warning(
            "provisioning outcome for a subscription orders does not know",
            extra={"subscription_id": str(subscription_id)},
        )
        return
    transition = subscription.record_provisioning(outcome=outcome, message=message, at=at)
    if transition is not None:
        await store(session, transition)


async def _known(
    session: AsyncSession, subscription_id: uuid.UUID, *, invoice: str
) -> Subscription | None:
    subscription = await repository.get(session, subscription_id)
    if subscription is None:
        logger.warning(
            "invoice bills a subscription orders does not know",
            extra={"subscription_id": str(subscription_id), "invoice": invoice},
        )
    return subscription
