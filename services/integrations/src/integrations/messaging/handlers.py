"""The integrations service's event map: what it does with events of other services."""

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from integrations.edo import service as edo
from integrations.edo.upd import Signer
from integrations.onec import service as onec
from integrations.organizations import projection as organizations
from integrations.provisioning import service as provisioning
from integrations.provisioning.service import ProvisionedEvent
from integrations.settings import IntegrationsSettings
from integrations.webhooks import service as webhooks
from integrations.webhooks.domain import BillingDocumentEvent
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.billing import (
    ClosingDocumentIssued,
    CreditNoteIssued,
    InvoiceIssued,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceVoided,
    PaymentAllocated,
)
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationUpdated
from vitrina_contracts.events.orders import (
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionCreated,
    SubscriptionExpired,
    SubscriptionResumed,
    SubscriptionSuspended,
)
from vitrina_kit.consumer import Handler, Received


@cache
def signer() -> Signer:
    """Who signs the UPDs for the operator (settings are read once per process)."""
    return edo.signer_of(IntegrationsSettings())


async def on_organization_snapshot(
    session: AsyncSession, message: Received[OrganizationRegistered | OrganizationUpdated]
) -> None:
    """Integrations' copy updated; closing documents that waited for this organization's EDO
    participant id are built and queued now, in the same transaction."""
    await organizations.apply_organization(
        session, message.event.organization, version=message.envelope.aggregateversion
    )
    await edo.build_awaiting(
        session,
        signer=signer(),
        now=datetime.now(UTC),
        organization_id=message.event.organization.organization_id,
    )


async def on_closing_document_issued(
    session: AsyncSession, message: Received[ClosingDocumentIssued]
) -> None:
    """The UPD built, validated and queued for the EDO sender (failed loudly if invalid, or
    left waiting for a party's EDO participant id: never a reason to retry the event, so the
    1C record and the buyer's webhooks happen once, now, with it)."""
    await edo.record_closing_document(
        session, message.event.document, signer=signer(), now=datetime.now(UTC)
    )
    await onec.record_document(
        session, "closing_document", message.event.document, now=datetime.now(UTC)
    )
    await webhooks.fan_out(session, message.event, message.envelope)


async def on_invoice_issued(session: AsyncSession, message: Received[InvoiceIssued]) -> None:
    """Queued for the operator's 1C base; the buyer's subscribed endpoints hear of it."""
    await onec.record_document(session, "invoice", message.event.invoice, now=datetime.now(UTC))
    await webhooks.fan_out(session, message.event, message.envelope)


async def on_billing_document(
    session: AsyncSession, message: Received[BillingDocumentEvent]
) -> None:
    """The buyer's endpoints that subscribed to it hear of it."""
    await webhooks.fan_out(session, message.event, message.envelope)


async def on_payment_allocated(session: AsyncSession, message: Received[PaymentAllocated]) -> None:
    """The customer's endpoints that subscribed to it hear that its payment was applied."""
    await webhooks.fan_out(session, message.event, message.envelope)


async def on_subscription_created(
    session: AsyncSession, message: Received[SubscriptionCreated]
) -> None:
    """Nothing to provision yet (it waits for payment); subscribers hear of it."""
    await webhooks.fan_out(session, message.event, message.envelope)


async def on_subscription_change(
    session: AsyncSession, message: Received[ProvisionedEvent]
) -> None:
    """The partner's provisioning endpoint is called; subscribers hear of it."""
    await provisioning.request(session, message.event, message.envelope)
    await webhooks.fan_out(session, message.event, message.envelope)


HANDLERS: Mapping[type[Event], Handler] = {
    OrganizationRegistered: on_organization_snapshot,
    OrganizationUpdated: on_organization_snapshot,
    ClosingDocumentIssued: on_closing_document_issued,
    InvoiceIssued: on_invoice_issued,
    InvoicePaid: on_billing_document,
    InvoiceOverdue: on_billing_document,
    InvoiceVoided: on_billing_document,
    CreditNoteIssued: on_billing_document,
    PaymentAllocated: on_payment_allocated,
    SubscriptionCreated: on_subscription_created,
    SubscriptionActivated: on_subscription_change,
    SubscriptionChanged: on_subscription_change,
    SubscriptionSuspended: on_subscription_change,
    SubscriptionResumed: on_subscription_change,
    SubscriptionCancelled: on_subscription_change,
    SubscriptionExpired: on_subscription_change,
}
