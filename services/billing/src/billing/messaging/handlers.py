"""The billing service's event map: read top to bottom to see what it reacts to."""

from collections.abc import Mapping
from datetime import UTC
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from billing.catalog import projection as catalog
from billing.invoices import documents, service
from billing.organizations import projection as organizations
from billing.payments import service as payments
from billing.settings import BillingSettings
from billing.subscriptions import projection as subscriptions
from billing.subscriptions.projection import day_of
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.billing import Party
from vitrina_contracts.events.catalog import (
    PlanPriceScheduled,
    ProductPublished,
    ProductRetired,
    ProductRevised,
)
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationUpdated
from vitrina_contracts.events.integrations import BankPaymentImported
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
def seller() -> Party:
    """The seller every document prints (settings are read once per process)."""
    return documents.seller(BillingSettings())


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
    announced_on = message.envelope.time.astimezone(UTC).date()
    await catalog.apply_price_scheduled(session, message.event, announced_on=announced_on)


async def on_subscription_created(
    session: AsyncSession, message: Received[SubscriptionCreated]
) -> None:
    """The first period's invoice, right away. Without the plan or the buyer's requisites yet
    (their events are late) it is left to the next renewal run, which issues missing first
    invoices: the event is not retried, nothing is lost."""
    snapshot = message.event.subscription
    version = message.envelope.aggregateversion
    subscription = await subscriptions.apply_subscription(session, snapshot, version=version)
    if subscription is None:
        return
    await service.bill_customer(
        session,
        seller(),
        subscription.customer_id,
        on=day_of(message.envelope.time),
        only=subscription,
    )


async def on_subscription_state(
    session: AsyncSession,
    message: Received[
        SubscriptionActivated | SubscriptionSuspended | SubscriptionResumed | SubscriptionExpired
    ],
) -> None:
    """Recorded for the closing documents (suspended days are not rendered); no credit:
    a suspension is for non-payment, and the invoice it concerns is what dunning is about."""
    snapshot = message.event.subscription
    await subscriptions.apply_subscription(
        session, snapshot, version=message.envelope.aggregateversion
    )


async def on_subscription_changed(
    session: AsyncSession, message: Received[SubscriptionChanged | SubscriptionCancelled]
) -> None:
    """A change of seats or plan, or a cancellation (immediate, or scheduled inside a period
    already invoiced): credit what was billed from its day on, charge the new terms."""
    snapshot = message.event.subscription
    subscription = await subscriptions.apply_subscription(
        session, snapshot, version=message.envelope.aggregateversion
    )
    if subscription is None:
        return
    effective_on = day_of(snapshot.effective_at)
    if isinstance(message.event, SubscriptionCancelled):
        reason = f"Отказ от подписки с {effective_on:%d.%m.%Y}."
    else:
        reason = f"Изменение условий подписки с {effective_on:%d.%m.%Y}."
    await service.reprice(
        session,
        seller(),
        subscription,
        effective_on=effective_on,
        issued_on=day_of(message.envelope.time),
        reason=reason,
    )


async def on_bank_payment_imported(
    session: AsyncSession, message: Received[BankPaymentImported]
) -> None:
    """Record and match the statement line; a line seen before (even under another event or
    bank payment id) is dropped by its own unique key."""
    await payments.receive_bank_payment(session, message.event.bank_payment)


HANDLERS: Mapping[type[Event], Handler] = {
    OrganizationRegistered: on_organization_snapshot,
    OrganizationUpdated: on_organization_snapshot,
    ProductPublished: on_product_snapshot,
    ProductRevised: on_product_snapshot,
    ProductRetired: on_product_snapshot,
    PlanPriceScheduled: on_plan_price_scheduled,
    SubscriptionCreated: on_subscription_created,
    SubscriptionActivated: on_subscription_state,
    SubscriptionSuspended: on_subscription_state,
    SubscriptionResumed: on_subscription_state,
    SubscriptionExpired: on_subscription_state,
    SubscriptionChanged: on_subscription_changed,
    SubscriptionCancelled: on_subscription_changed,
    BankPaymentImported: on_bank_payment_imported,
}
