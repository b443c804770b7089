from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from orders.subscriptions.domain import (
    CancellationMode,
    ChangeTiming,
    Subscription,
    day_of,
)
from vitrina_kit.api import RequestModel

MAX_QUANTITY = 1_000_000
"""A sanity bound; the plan's own limits are the domain's to check."""


class SeatsChange(RequestModel):
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    timing: ChangeTiming | None = Field(
        default=None,
        description="Default: more seats now, fewer at the end of the paid period.",
    )


class PlanChange(RequestModel):
    plan_id: uuid.UUID = Field(description="A public plan of the same product, on sale.")
    quantity: int | None = Field(default=None, ge=1, le=MAX_QUANTITY)
    timing: ChangeTiming | None = Field(
        default=None,
        description="Default: an upgrade (as costly per month or more) now, a downgrade at the "
        "end of the paid period.",
    )


class Cancellation(RequestModel):
    mode: CancellationMode = CancellationMode.PERIOD_END
    reason: str = Field(default="", max_length=500)


class PeriodRead(BaseModel):
    starts_on: date
    ends_on: date = Field(description="The first day after the period.")


class ScheduledCancellationRead(BaseModel):
    effective_on: date = Field(description="The first day without service.")
    requested_at: datetime
    reason: str


class ScheduledChangeRead(BaseModel):
    plan_id: uuid.UUID
    billing_period: str
    quantity: int
    effective_on: date


class ProvisioningRead(BaseModel):
    outcome: str
    message: str
    recorded_at: datetime


class SubscriptionRead(BaseModel):
    """The whole subscription, as its customer (and the operator) reads it."""

    view: Literal["customer"] = "customer"
    subscription_id: uuid.UUID
    customer_id: uuid.UUID
    partner_id: uuid.UUID
    product_id: uuid.UUID
    plan_id: uuid.UUID
    order_id: uuid.UUID | None
    billing_period: str
    quantity: int
    status: str
    status_since: datetime
    started_on: date
    period_anchor: date
    trial_ends_on: date | None
    current_period: PeriodRead | None = Field(description="None once it has ended.")
    suspension_reason: str | None
    scheduled_cancellation: ScheduledCancellationRead | None
    scheduled_change: ScheduledChangeRead | None
    provisioning: ProvisioningRead | None
    version: int = Field(description='Send it back as If-Match: "<version>" with a change.')

    @classmethod
    def of(cls, subscription: Subscription, *, now: datetime) -> SubscriptionRead:
        cancellation = subscription.scheduled_cancellation
        change = subscription.scheduled_change
        period = None if subscription.is_ended else subscription.period_on(day_of(now))
        return cls(
            subscription_id=subscription.subscription_id,
            customer_id=subscription.customer_id,
            partner_id=subscription.partner_id,
            product_id=subscription.product_id,
            plan_id=subscription.plan_id,
            order_id=subscription.order_id,
            billing_period=subscription.billing_period,
            quantity=subscription.quantity,
            status=subscription.status,
            status_since=subscription.status_since,
            started_on=subscription.started_on,
            period_anchor=subscription.period_anchor,
            trial_ends_on=subscription.trial_ends_on,
            current_period=PeriodRead(starts_on=period.starts_on, ends_on=period.ends_on)
            if period
            else None,
            suspension_reason=subscription.suspension_reason,
            scheduled_cancellation=ScheduledCancellationRead(
                effective_on=cancellation.effective_on,
                requested_at=cancellation.requested_at,
                reason=cancellation.reason,
            )
            if cancellation
            else None,
            scheduled_change=ScheduledChangeRead(
                plan_id=change.plan_id,
                billing_period=change.billing_period,
                quantity=change.quantity,
                effective_on=change.effective_on,
            )
            if change
            else None,
            provisioning=_provisioning(subscription),
            version=subscription.version,
        )


class PartnerSubscriptionRead(BaseModel):
    """A subscription to the partner's product: what provisioning the service needs, no more
    (no order, no reasons the customer gave, no payment standing)."""

    view: Literal["partner"] = "partner"
    subscription_id: uuid.UUID
    customer_id: uuid.UUID = Field(description="Whose account to provision.")
    product_id: uuid.UUID
    plan_id: uuid.UUID
    quantity: int
    status: str
    status_since: datetime
    trial_ends_on: date | None
    service_ends_on: date | None = Field(
        description="The first day without service, when a cancellation is scheduled."
    )
    provisioning: ProvisioningRead | None
    version: int

    @classmethod
    def of(cls, subscription: Subscription) -> PartnerSubscriptionRead:
        cancellation = subscription.scheduled_cancellation
        return cls(
            subscription_id=subscription.subscription_id,
            customer_id=subscription.customer_id,
            product_id=subscription.product_id,
            plan_id=subscription.plan_id,
            quantity=subscription.quantity,
            status=subscription.status,
            status_since=subscription.status_since,
            trial_ends_on=subscription.trial_ends_on,
            service_ends_on=cancellation.effective_on if cancellation else None,
            provisioning=_provisioning(subscription),
            version=subscription.version,
        )


SubscriptionView = Annotated[
    SubscriptionRead | PartnerSubscriptionRead, Field(discriminator="view")
]
"""The customer's and the operator's view, or a partner's (``view`` tells which)."""


class SubscriptionPage(BaseModel):
    items: list[SubscriptionView]
    next_cursor: str | None


class DueApplied(BaseModel):
    to: datetime
    advanced: int = Field(description="Subscriptions whose scheduled changes were applied.")
    dunned: int = Field(description="Overdue invoices past their grace period acted on.")


def _provisioning(subscription: Subscription) -> ProvisioningRead | None:
    provisioning = subscription.provisioning
    if provisioning is None:
        return None
    return ProvisioningRead(
        outcome=provisioning.outcome,
        message=provisioning.message,
        recorded_at=provisioning.recorded_at,
    )
