"""The orders service's event map: read top to bottom to see what it reacts to."""

from collections.abc import Mapping
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from orders.catalog import projection as catalog
from orders.organizations import projection as organizations
from orders.subscriptions import reactions
from orders.subscriptions.domain import ProvisioningOutcome
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.billing import InvoiceOverdue, InvoicePaid
from vitrina_contracts.events.catalog import (
    PlanPriceScheduled,
    ProductPublished,
    ProductRetired,
    ProductRevised,
)
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationUpdated
from vitrina_contracts.events.integrations import ProvisioningFailed, ProvisioningSucceeded
from vitrina_kit.consumer import Handler, Received


async def on_organization_snapshot(
    session: AsyncSession, message: Received[OrganizationRegistered | OrganizationUpdated]
) -> None:
    await organizations.apply_organization(
        session, message.event.organization, version=message.envelope.aggregateversion
    )


async def on_product_snapshot(
    session: AsyncSession, message: Received[ProductPublished | ProductRevised | ProductRetired]
) -> None:
    await catalog.apply_product(session, message.event.product)


async def on_plan_price_scheduled(
    session: AsyncSession, message: Received[PlanPriceScheduled]
) -> None:
    # The catalog settles an earlier scheduled price against its own (UTC) day of announcement.
    announced_on = message.envelope.time.astimezone(UTC).date()
    await catalog.apply_price_scheduled(session, message.event, announced_on=announced_on)


async def on_invoice_paid(session: AsyncSession, message: Received[InvoicePaid]) -> None:
    await reactions.invoice_paid(session, message.event.invoice, at=message.event.paid_at)


async def on_invoice_overdue(session: AsyncSession, message: Received[InvoiceOverdue]) -> None:
    await reactions.invoice_overdue(
        session,
        message.event.invoice,
        amount_due=message.event.amount_due,
        at=message.envelope.time,
    )


async def on_provisioning_succeeded(
    session: AsyncSession, message: Received[ProvisioningSucceeded]
) -> None:
    await reactions.provisioning_outcome(
        session,
        message.event.subscription_id,
        outcome=ProvisioningOutcome.SUCCEEDED,
        message=message.event.response.body,
        # The envelope's time: when integrations learnt the answer (older answers never win).
        at=message.envelope.time,
    )


async def on_provisioning_failed(
    session: AsyncSession, message: Received[ProvisioningFailed]
) -> None:
    await reactions.provisioning_outcome(
        session,
        message.event.subscription_id,
        outcome=ProvisioningOutcome.FAILED,
        message=message.event.reason,
        at=message.envelope.time,
    )


HANDLERS: Mapping[type[Event], Handler] = {
    OrganizationRegistered: on_organization_snapshot,
    OrganizationUpdated: on_organization_snapshot,
    ProductPublished: on_product_snapshot,
    ProductRevised: on_product_snapshot,
    ProductRetired: on_product_snapshot,
    PlanPriceScheduled: on_plan_price_scheduled,
    InvoicePaid: on_invoice_paid,
    InvoiceOverdue: on_invoice_overdue,
    ProvisioningSucceeded: on_provisioning_succeeded,
    ProvisioningFailed: on_provisioning_failed,
}
