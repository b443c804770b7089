"""Events of the orders service: orders, and the subscriptions they create."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, Field

from vitrina_contracts.events import _samples as s
from vitrina_contracts.events.base import ContractModel, Event

ORDERS = "orders.orders"
SUBSCRIPTIONS = "orders.subscriptions"

OrderStatus = Literal["placed", "completed", "rejected"]
SubscriptionStatus = Literal["pending", "trial", "active", "suspended", "cancelled", "expired"]
"""``expired``: ended without ever being paid for (a trial not converted, or a first invoice
left unpaid); ``cancelled``: ended by the customer or the operator."""


class OrderLine(ContractModel):
    """One line of an order: a plan of a product, and how many units of it."""

    line_no: int = Field(ge=1)
    product_id: UUID
    plan_id: UUID
    quantity: int = Field(ge=1, description="Units of the plan's pricing unit (seats, GB...).")
    subscription_id: UUID | None = Field(
        default=None, description="The subscription the line created; set once it exists."
    )


class OrderSnapshot(ContractModel):
    """An order as the customer placed it, with its current status."""

    order_id: UUID
    customer_id: UUID = Field(description="The business organization that ordered.")
    status: OrderStatus
    placed_at: AwareDatetime
    lines: tuple[OrderLine, ...] = Field(min_length=1)


def _order(status: OrderStatus, *, with_subscriptions: bool = False) -> OrderSnapshot:
    return OrderSnapshot(
        order_id=s.ORDER_ID,
        customer_id=s.CUSTOMER_ID,
        status=status,
        placed_at=s.ORDERED_AT,
        lines=(
            OrderLine(
                line_no=1,
                product_id=s.PRODUCT_ID,
                plan_id=s.PLAN_STANDARD_ID,
                quantity=s.SEATS,
                subscription_id=s.SUBSCRIPTION_ID if with_subscriptions else None,
            ),
        ),
    )


class OrderPlaced(Event):
    """A customer placed an order; orders has not validated it yet."""

    event_type: ClassVar[str] = "ru.vitrina.orders.order.placed"
    topic: ClassVar[str] = ORDERS
    aggregate_field: ClassVar[str] = "order.order_id"

    order: OrderSnapshot

    @classmethod
    def example(cls) -> Self:
        return cls(order=_order("placed"))


class OrderCompleted(Event):
    """An order was accepted: each line now has its (pending) subscription."""

    event_type: ClassVar[str] = "ru.vitrina.orders.order.completed"
    topic: ClassVar[str] = ORDERS
    aggregate_field: ClassVar[str] = "order.order_id"

    order: OrderSnapshot

    @classmethod
    def example(cls) -> Self:
        return cls(order=_order("completed", with_subscriptions=True))


class OrderRejected(Event):
    """An order was refused (a plan not on sale, a quantity out of limits...)."""

    event_type: ClassVar[str] = "ru.vitrina.orders.order.rejected"
    topic: ClassVar[str] = ORDERS
    aggregate_field: ClassVar[str] = "order.order_id"

    order: OrderSnapshot
    reason: str = Field(min_length=1, description="Why, in words the customer can act on.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            order=_order("rejected"),
            reason="Тариф «Стандарт» допускает не более 100 мест, заказано 150.",
        )


ProvisioningOutcome = Literal["succeeded", "failed"]


class ProvisioningRecord(ContractModel):
    """What the partner last answered about a subscription (from integrations.provisioning)."""

    outcome: ProvisioningOutcome
    message: str = Field(default="", max_length=1000)
    recorded_at: AwareDatetime


class SubscriptionSnapshot(ContractModel):
    """A subscription's whole state after the change its event reports."""

    subscription_id: UUID
    customer_id: UUID = Field(description="The business organization that subscribes.")
    partner_id: UUID = Field(description="The organization that supplies the product.")
    product_id: UUID
    plan_id: UUID
    order_id: UUID | None = Field(default=None, description="The order that created it, if any.")
    quantity: int = Field(ge=1, description="Seats (or other units of the plan's pricing unit).")
    period_anchor: date = Field(description="The day billing periods are counted from.")
    status: SubscriptionStatus
    effective_at: AwareDatetime = Field(
        description="When this state takes (or took) effect; may be ahead of the event's time."
    )
    trial_ends_on: date | None = None
    # Added with the Orders issue; optional so that earlier events stay readable.
    cancellation_scheduled_at: AwareDatetime | None = Field(
        default=None,
        description="The customer cancelled at period end: service stops at this instant unless "
        "the subscription is reactivated before it. None when no cancellation is scheduled.",
    )
    provisioning: ProvisioningRecord | None = Field(
        default=None, description="The partner's latest answer about setting the service up."
    )


def _subscription(
    status: SubscriptionStatus, *, effective_at: datetime, quantity: int = s.SEATS
) -> SubscriptionSnapshot:
    return SubscriptionSnapshot(
        subscription_id=s.SUBSCRIPTION_ID,
        customer_id=s.CUSTOMER_ID,
        partner_id=s.PARTNER_ID,
        product_id=s.PRODUCT_ID,
        plan_id=s.PLAN_STANDARD_ID,
        order_id=s.ORDER_ID,
        quantity=quantity,
        period_anchor=date(2025, 12, 1),
        status=status,
        effective_at=effective_at,
    )


class SubscriptionCreated(Event):
    """A subscription exists, pending its first payment."""

    event_type: ClassVar[str] = "ru.vitrina.orders.subscription.created"
    topic: ClassVar[str] = SUBSCRIPTIONS
    aggregate_field: ClassVar[str] = "subscription.subscription_id"

    subscription: SubscriptionSnapshot

    @classmethod
    def example(cls) -> Self:
        return cls(subscription=_subscription("pending", effective_at=s.ORDERED_AT))


class SubscriptionActivated(Event):
    """The first period is paid (or the trial started): the partner should provision."""

    event_type: ClassVar[str] = "ru.vitrina.orders.subscription.activated"
    topic: ClassVar[str] = SUBSCRIPTIONS
    aggregate_field: ClassVar[str] = "subscription.subscription_id"

    subscription: SubscriptionSnapshot

    @classmethod
    def example(cls) -> Self:
        paid_at = datetime(2025, 12, 2, 11, 5, tzinfo=UTC)
        return cls(subscription=_subscription("active", effective_at=paid_at))


class SubscriptionChanged(Event):
    """The plan or quantity changed; billing credits the old terms and charges the new ones."""

    event_type: ClassVar[str] = "ru.vitrina.orders.subscription.changed"
    topic: ClassVar[str] = SUBSCRIPTIONS
    aggregate_field: ClassVar[str] = "subscription.subscription_id"

    subscription: SubscriptionSnapshot
    previous_plan_id: UUID
    previous_quantity: int = Field(ge=1)

    @classmethod
    def example(cls) -> Self:
        changed_at = datetime(2025, 12, 16, 0, 0, tzinfo=UTC)
        return cls(
            subscription=_subscription("active", effective_at=changed_at, quantity=15),
            previous_plan_id=s.PLAN_STANDARD_ID,
            previous_quantity=s.SEATS,
        )


SuspensionReason = Literal["non_payment", "operator"]


class SubscriptionSuspended(Event):
    """Service is stopped until further notice (dunning, or the operator's decision)."""

    event_type: ClassVar[str] = "ru.vitrina.orders.subscription.suspended"
    topic: ClassVar[str] = SUBSCRIPTIONS
    aggregate_field: ClassVar[str] = "subscription.subscription_id"

    subscription: SubscriptionSnapshot
    reason: SuspensionReason

    @classmethod
    def example(cls) -> Self:
        suspended_at = datetime(2026, 1, 20, 0, 0, tzinfo=UTC)
        return cls(
            subscription=_subscription("suspended", effective_at=suspended_at),
            reason="non_payment",
        )


class SubscriptionResumed(Event):
    """A suspended subscription is active again (typically: the overdue invoice was paid)."""

    event_type: ClassVar[str] = "ru.vitrina.orders.subscription.resumed"
    topic: ClassVar[str] = SUBSCRIPTIONS
    aggregate_field: ClassVar[str] = "subscription.subscription_id"

    subscription: SubscriptionSnapshot

    @classmethod
    def example(cls) -> Self:
        resumed_at = datetime(2026, 1, 22, 8, 40, tzinfo=UTC)
        return cls(subscription=_subscription("active", effective_at=resumed_at))


CancellationMode = Literal["period_end", "immediate"]


class SubscriptionCancelled(Event):
    """The customer cancelled; service ends at ``subscription.effective_at``."""

    event_type: ClassVar[str] = "ru.vitrina.orders.subscription.cancelled"
    topic: ClassVar[str] = SUBSCRIPTIONS
    aggregate_field: ClassVar[str] = "subscription.subscription_id"

    subscription: SubscriptionSnapshot
    mode: CancellationMode = Field(
        description="period_end: service runs to the end of the paid period (the default); "
        "immediate: it ends now and billing credits the unused part."
    )
    reason: str = ""

    @classmethod
    def example(cls) -> Self:
        period_end = datetime(2026, 2, 1, tzinfo=UTC)
        return cls(
            subscription=_subscription("cancelled", effective_at=period_end),
            mode="period_end",
            reason="Переходим на другое решение.",
        )


class SubscriptionExpired(Event):
    """The subscription ended without being paid for: a trial not converted by its last day,
    or a first invoice left unpaid. The partner should switch the service off."""

    event_type: ClassVar[str] = "ru.vitrina.orders.subscription.expired"
    topic: ClassVar[str] = SUBSCRIPTIONS
    aggregate_field: ClassVar[str] = "subscription.subscription_id"

    subscription: SubscriptionSnapshot

    @classmethod
    def example(cls) -> Self:
        trial_end = date(2025, 12, 1)
        snapshot = _subscription(
            "expired", effective_at=datetime(2025, 12, 1, tzinfo=UTC)
        ).model_copy(update={"trial_ends_on": trial_end, "period_anchor": trial_end})
        return cls(subscription=snapshot)
