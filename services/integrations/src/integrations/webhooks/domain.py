"""Webhook rules as plain values: which events may be subscribed to, who hears of an event,
when a failed delivery is tried again, and when an endpoint has failed for long enough."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

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
from vitrina_contracts.events.orders import (
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionCreated,
    SubscriptionExpired,
    SubscriptionResumed,
    SubscriptionSuspended,
)
from vitrina_kit.consumer import parse_retry_stages, stage_delay

SubscriptionEvent = (
    SubscriptionCreated
    | SubscriptionActivated
    | SubscriptionChanged
    | SubscriptionSuspended
    | SubscriptionResumed
    | SubscriptionCancelled
    | SubscriptionExpired
)
BillingDocumentEvent = (
    InvoiceIssued
    | InvoicePaid
    | InvoiceOverdue
    | InvoiceVoided
    | ClosingDocumentIssued
    | CreditNoteIssued
)
SUBSCRIPTION_EVENTS: tuple[type[Event], ...] = (
    SubscriptionCreated,
    SubscriptionActivated,
    SubscriptionChanged,
    SubscriptionSuspended,
    SubscriptionResumed,
    SubscriptionCancelled,
    SubscriptionExpired,
)
BILLING_DOCUMENT_EVENTS: tuple[type[Event], ...] = (
    InvoiceIssued,
    InvoicePaid,
    InvoiceOverdue,
    InvoiceVoided,
    ClosingDocumentIssued,
    CreditNoteIssued,
)

# Of billing's payment events only the allocation names the customer: a payment received is
# not yet anybody's (the payer's INN is not an organization), an unmatched one is the
# operator's to look at.
PAYMENT_EVENTS: tuple[type[Event], ...] = (PaymentAllocated,)


def public_type(event_type: str) -> str:
    """The name an endpoint subscribes by: ``ru.vitrina.orders.subscription.activated`` ->
    ``subscription.activated`` (which service published it is Vitrina's business)."""
    return event_type.split(".", 3)[-1]


EVENT_TYPES: frozenset[str] = frozenset(
    public_type(cls.event_type)
    for cls in SUBSCRIPTION_EVENTS + BILLING_DOCUMENT_EVENTS + PAYMENT_EVENTS
)
"""What an endpoint may subscribe to: subscription lifecycle, billing documents and the
allocation of a customer's payments."""


def audience(event: Event) -> frozenset[uuid.UUID]:
    """The organizations an event concerns, whose endpoints may hear of it: a subscription's
    customer and the partner supplying it; a billing document's buyer (the operator sells as
    the partners' agent, so partners learn of sales from subscriptions and settlements)."""
    if isinstance(event, SubscriptionEvent):
        snapshot = event.subscription
        return frozenset({snapshot.customer_id, snapshot.partner_id})
    if isinstance(event, InvoiceIssued | InvoicePaid | InvoiceOverdue | InvoiceVoided):
        return frozenset({event.invoice.buyer.organization_id})
    if isinstance(event, ClosingDocumentIssued):
        return frozenset({event.document.buyer.organization_id})
    if isinstance(event, CreditNoteIssued):
        return frozenset({event.credit_note.buyer.organization_id})
    if isinstance(event, PaymentAllocated):
        return frozenset({event.customer_id})
    return frozenset()


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryPurpose(StrEnum):
    EVENT = "event"
    PROVISIONING = "provisioning"


@dataclass(frozen=True)
class RetrySchedule:
    """Waits before each retry; a delivery gets ``1 + len(delays)`` attempts in a round."""

    delays: tuple[timedelta, ...]

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """``"1m,5m,30m,2h"``, the kit's notation for retry stages."""
        return cls(tuple(timedelta(seconds=stage_delay(s)) for s in parse_retry_stages(text)))

    @property
    def attempts(self) -> int:
        return 1 + len(self.delays)

    def next_attempt_at(self, failed_attempts: int, *, now: datetime) -> datetime | None:
        """When to try again after ``failed_attempts`` failures in this round; None: give up.

        No jitter: deliveries to one endpoint were created at different times already, and a
        predictable schedule is one a partner can be told about.
        """
        if failed_attempts > len(self.delays):
            return None
        return now + self.delays[failed_attempts - 1]


@dataclass(frozen=True)
class DisablePolicy:
    """When an endpoint that keeps failing is switched off (its owner is told)."""

    max_consecutive_failures: int
    max_failing_for: timedelta

    def reason_to_disable(
        self, consecutive_failures: int, failing_since: datetime | None, *, now: datetime
    ) -> str | None:
        if consecutive_failures >= self.max_consecutive_failures:
            return f"{consecutive_failures} consecutive failed deliveries"
        if failing_since is not None and now - failing_since >= self.max_failing_for:
            hours = (now - failing_since).total_seconds() / 3600
            return f"failing for {hours:.0f} hours without a successful delivery"
        return None


def secrets_in_force(
    current: str, previous: str | None, previous_expires_at: datetime | None, *, now: datetime
) -> tuple[str, ...]:
    """The secrets a delivery is signed with: the current one first, and the one a rotation
    replaced for as long as its grace period lasts (a receiver checking either verifies)."""
    if previous is not None and previous_expires_at is not None and now < previous_expires_at:
        return (current, previous)
    return (current,)


def succeeded(status_code: int | None) -> bool:
    """Only a 2xx acknowledges a delivery; a redirect is not followed (it could lead anywhere,
    an internal address included) and counts as a failure."""
    return status_code is not None and 200 <= status_code < 300
