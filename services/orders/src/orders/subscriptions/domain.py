"""Subscriptions as orders' rules see them: plain values, no I/O, and no clock of their own.

The lifecycle is a state machine; every move is a method of :class:`Subscription`::

    pending    ──activate (first invoice paid)──────────▶ active
    pending    ──expire (first invoice never paid)──────▶ expired
    trial      ──activate (paid: the trial converts)────▶ active
    trial      ──expire / advance (last day passed)─────▶ expired
    active     ──suspend (overdue past grace, operator)─▶ suspended
    suspended  ──resume (payment, or the operator)──────▶ active
    pending, trial, active, suspended ──cancel─────────▶ cancelled (now, or at period end)

``cancelled`` and ``expired`` are terminal. A method either returns a :class:`Transition` (the new
state, one version up, and which events to publish) or raises; it never changes ``self``, so a
refused command leaves nothing behind. The time is always passed in.

What happens later is *scheduled* on the subscription and announced at once: a cancellation at
period end and a seat or plan decrease wait in ``scheduled_cancellation`` / ``scheduled_change``
until :meth:`Subscription.advance` applies them. Their event goes out when the customer decides,
with the state it will have and ``effective_at`` in the future (the contract allows it), so billing
knows before it invoices the next period; applying them later publishes nothing.

Events (``ru.vitrina.orders.subscription.<kind>``), by what caused them:

=====================================  =======================================================
create                                 created; and activated too when a trial starts (the
                                       partner provisions for the trial)
first invoice paid / trial converts    activated
overdue past grace, operator suspends  suspended (reason non_payment / operator)
payment, operator lifts                resumed
reactivate (undo a cancellation)       resumed: the subscription goes on past the period end
change seats / plan, withdraw change   changed (with the previous plan and quantity)
cancel (either mode)                   cancelled
trial over unpaid, first invoice       expired
never paid
provisioning outcome, applying what    none: the version still grows (it is a stored change)
was announced
=====================================  =======================================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from vitrina_contracts.billing_calendar import counting_anchor, period_bounds
from vitrina_kit.problems import Conflict, InvalidStateTransition, UnprocessableEntity

BOUNDARY_TZ = UTC
"""Period boundaries are days; where a day starts is read in this zone. UTC, like the
contract's examples (a period ending on 1 February ends at 2026-02-01T00:00Z)."""

PROVISIONING_MESSAGE_LIMIT = 1000
"""Partners' answers can be long; the customer needs the gist (the contract caps it too)."""


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    """Created, awaiting the first payment."""
    TRIAL = "trial"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    """Ended without ever being paid for: a trial not converted, a first invoice never paid."""


ENDED = frozenset({SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED})
"""Terminal statuses: nothing moves a subscription out of them."""


class BillingPeriod(StrEnum):
    MONTH = "month"
    YEAR = "year"


MONTHS_IN = {BillingPeriod.MONTH: 1, BillingPeriod.YEAR: 12}


class CancellationMode(StrEnum):
    PERIOD_END = "period_end"
    """The default: service runs to the end of the paid period."""
    IMMEDIATE = "immediate"


class SuspensionReason(StrEnum):
    NON_PAYMENT = "non_payment"
    OPERATOR = "operator"


class ProvisioningOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ChangeTiming(StrEnum):
    """When a seat or plan change takes effect. Unless the customer says otherwise, more
    (seats, or a plan that costs as much or more) starts now and less at the end of the paid
    period: nobody loses what they paid for, and nobody waits for what they want to buy."""

    NOW = "now"
    PERIOD_END = "period_end"


class SubscriptionEvent(StrEnum):
    """An event the service publishes: ``ru.vitrina.orders.subscription.<value>``."""

    CREATED = "created"
    ACTIVATED = "activated"
    CHANGED = "changed"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# Billing periods ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Days ``[starts_on, ends_on)``: ``ends_on`` is the first day of the next period."""

    starts_on: date
    ends_on: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.starts_on <= day < self.ends_on

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days


def billing_period_on(anchor: date, period: BillingPeriod, day: date) -> Period:
    """The billing period that contains ``day``, counting periods from ``anchor``, by the
    calendar billing shares (``vitrina_contracts.billing_calendar``): an anchor on the 31st
    comes back to the 31st after a short month (31 Jan, 28 Feb, 31 Mar, 30 Apr...).

    Raises:
        ValueError: ``day`` is before the anchor: no period has started yet.
    """
    if day < anchor:
        raise ValueError(f"{day} is before the first period, which starts on {anchor}")
    return Period(*period_bounds(anchor, period, day))


def start_of(day: date) -> datetime:
    """The instant ``day`` begins: where periods, trials and scheduled changes start."""
    return datetime.combine(day, time(), tzinfo=BOUNDARY_TZ)


def day_of(at: datetime) -> date:
    """The day the instant ``at`` falls on, in the zone period boundaries are read in."""
    if at.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return at.astimezone(BOUNDARY_TZ).date()


# Plans, as the catalog projection knows them -------------------------------------------------


@dataclass(frozen=True)
class PlanTerms:
    """What a subscription's rules need of a plan; the service reads it from the projection."""

    plan_id: UUID
    product_id: UUID
    billing_period: BillingPeriod
    unit_price: Decimal
    """The price of one unit for one period on the day of the decision, without VAT."""
    min_quantity: int = 1
    max_quantity: int | None = None
    trial_days: int = 0

    def allows(self, quantity: int) -> bool:
        return quantity >= self.min_quantity and (
            self.max_quantity is None or quantity <= self.max_quantity
        )

    def monthly_cost(self, quantity: int) -> Decimal:
        """Cost per month of ``quantity`` units, to tell an upgrade from a downgrade (not for
        invoicing: it is not rounded)."""
        return self.unit_price * quantity / MONTHS_IN[self.billing_period]


# The subscription ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledCancellation:
    effective_on: date
    """The first day without service."""
    requested_at: datetime
    reason: str = ""

    @property
    def effective_at(self) -> datetime:
        return start_of(self.effective_on)


@dataclass(frozen=True)
class ScheduledChange:
    """The terms from ``effective_on`` on (a seat or plan decrease waiting for the period end)."""

    plan_id: UUID
    billing_period: BillingPeriod
    quantity: int
    effective_on: date

    @property
    def effective_at(self) -> datetime:
        return start_of(self.effective_on)


@dataclass(frozen=True)
class Provisioning:
    """The partner's latest answer about setting the service up, shown to the customer."""

    outcome: ProvisioningOutcome
    message: str
    recorded_at: datetime


@dataclass(frozen=True)
class Transition:
    """What a command or event did: the state to store and what to tell the world.

    The service stores ``subscription`` (compare-and-set on the previous version), then
    publishes one event per ``events`` entry, built from ``announced`` and ``effective_at``
    (``SubscriptionSnapshot`` describes the state *as of* ``effective_at``; for a scheduled
    cancellation or change that is the future state, otherwise it is ``subscription``).
    """

    subscription: Subscription
    announced: Subscription
    effective_at: datetime
    events: tuple[SubscriptionEvent, ...]
    previous_plan_id: UUID | None = None
    """For ``changed``: the terms before the change (the contract's ``previous_*``)."""
    previous_quantity: int | None = None
    suspension_reason: SuspensionReason | None = None
    cancellation_mode: CancellationMode | None = None
    cancellation_reason: str = ""


@dataclass(frozen=True)
class Subscription:
    """One customer's subscription to one plan of one product, for a number of units."""

    subscription_id: UUID
    customer_id: UUID
    partner_id: UUID
    product_id: UUID
    plan_id: UUID
    billing_period: BillingPeriod
    quantity: int
    started_on: date
    period_anchor: date
    """The day billing periods are counted from: the start, or the first paid day after a
    trial (or the day a change of billing period took effect)."""
    status: SubscriptionStatus
    status_since: datetime
    version: int = 1
    order_id: UUID | None = None
    trial_ends_on: date | None = None
    """The first day after the trial (equal to the period anchor): the trial is
    ``[started_on, trial_ends_on)``."""
    suspension_reason: SuspensionReason | None = None
    scheduled_cancellation: ScheduledCancellation | None = None
    scheduled_change: ScheduledChange | None = None
    provisioning: Provisioning | None = None

    # -- creation ------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        subscription_id: UUID,
        customer_id: UUID,
        partner_id: UUID,
        plan: PlanTerms,
        quantity: int,
        starts_on: date,
        at: datetime,
        order_id: UUID | None = None,
    ) -> Transition:
        """A new subscription (one per accepted order line): ``pending`` until the first
        invoice is paid, or ``trial`` from ``starts_on`` when the plan has trial days."""
        day_of(at)  # refuses a naive instant
        check_quantity(plan, quantity)
        trial = plan.trial_days > 0
        trial_ends_on = starts_on + timedelta(days=plan.trial_days) if trial else None
        subscription = cls(
            subscription_id=subscription_id,
            customer_id=customer_id,
            partner_id=partner_id,
            product_id=plan.product_id,
            plan_id=plan.plan_id,
            billing_period=plan.billing_period,
            quantity=quantity,
            started_on=starts_on,
            period_anchor=trial_ends_on or starts_on,
            status=SubscriptionStatus.TRIAL if trial else SubscriptionStatus.PENDING,
            status_since=at,
            order_id=order_id,
            trial_ends_on=trial_ends_on,
        )
        events: tuple[SubscriptionEvent, ...] = (SubscriptionEvent.CREATED,)
        if trial:
            # The contract's activated means "the partner should provision": a trial needs it.
            events += (SubscriptionEvent.ACTIVATED,)
        return Transition(subscription, subscription, at, events)

    # -- reading -------------------------------------------------------------------------------

    @property
    def is_ended(self) -> bool:
        return self.status in ENDED

    def period_on(self, day: date) -> Period:
        """The period ``day`` is in: the trial while it lasts, else the billing period (the
        first one for a day before it starts)."""
        trial_end = self.trial_ends_on
        if self.status is SubscriptionStatus.TRIAL and trial_end is not None and day < trial_end:
            return Period(self.started_on, trial_end)
        first_day = max(day, self.period_anchor)
        return billing_period_on(self.counting_anchor, self.billing_period, first_day)

    @property
    def counting_anchor(self) -> date:
        """Where billing periods are counted from: monthly plans run by calendar month (the
        first one from the start to the month's end), as billing invoices them
        (``billing.subscriptions.domain.billing_anchor``); yearly plans from the anchor."""
        return counting_anchor(self.period_anchor, self.billing_period)

    @property
    def next_due_at(self) -> datetime | None:
        """The first instant :meth:`advance` has something to apply, or None if nothing is
        scheduled: the service stores it so a scheduler finds due subscriptions by an index."""
        due: list[datetime] = []
        if self.scheduled_cancellation is not None:
            due.append(self.scheduled_cancellation.effective_at)
        if self.status is SubscriptionStatus.TRIAL and self.trial_ends_on is not None:
            due.append(start_of(self.trial_ends_on))
        if self.scheduled_change is not None:
            due.append(self.scheduled_change.effective_at)
        return min(due, default=None)

    def expect_version(self, version: int) -> None:
        """Refuse a change made on a stale read (the client's If-Match, the caller's copy)."""
        if version != self.version:
            raise SubscriptionVersionConflict(self, version)

    # -- payments and dunning (reactions to billing's events) ---------------------------------

    def invoice_paid(self, *, at: datetime) -> Transition | None:
        """An invoice of this subscription is paid: activate, convert a trial, or resume.

        None when the payment changes nothing (an ordinary period paid, an operator's
        suspension, an ended subscription): a reaction must not fail a valid event.
        """
        match self.status:
            case SubscriptionStatus.PENDING | SubscriptionStatus.TRIAL:
                return self.activate(at=at)
            case SubscriptionStatus.SUSPENDED if (
                self.suspension_reason is SuspensionReason.NON_PAYMENT
            ):
                return self.resume(at=at)
            case _:
                return None

    def payment_overdue(self, *, at: datetime) -> Transition | None:
        """An invoice stayed unpaid past the grace period (the service decides when that is).

        An active subscription is suspended; a pending one, never paid, expires. None otherwise:
        a trial owes nothing until it ends, a suspended or ended one has nothing more to lose.
        """
        match self.status:
            case SubscriptionStatus.ACTIVE:
                return self.suspend(reason=SuspensionReason.NON_PAYMENT, at=at)
            case SubscriptionStatus.PENDING:
                return self.expire(at=at)
            case _:
                return None

    def activate(self, *, at: datetime) -> Transition:
        """The first invoice is paid: pending → active, or a trial converts (the remaining
        trial days stay free: billing counts paid periods from the anchor, the trial's end)."""
        if self.status not in {SubscriptionStatus.PENDING, SubscriptionStatus.TRIAL}:
            raise SubscriptionCannotBeActivated(self, f"it is {self.status}, not awaiting payment.")
        cancellation = self.scheduled_cancellation
        if cancellation is not None:
            # Cancelled during the trial, then paid anyway: the paid period is theirs to use.
            first = self.period_on(self.period_anchor)
            cancellation = replace(cancellation, effective_on=first.ends_on)
        return self._next(
            at,
            (SubscriptionEvent.ACTIVATED,),
            status=SubscriptionStatus.ACTIVE,
            status_since=at,
            scheduled_cancellation=cancellation,
        )

    def suspend(self, *, reason: SuspensionReason, at: datetime) -> Transition:
        """Stop the service: for non-payment (dunning) or by the operator's decision."""
        if self.status is not SubscriptionStatus.ACTIVE:
            raise SubscriptionCannotBeSuspended(self, f"it is {self.status}, not active.")
        transition = self._next(
            at,
            (SubscriptionEvent.SUSPENDED,),
            suspension_reason=reason,
            status=SubscriptionStatus.SUSPENDED,
            status_since=at,
        )
        return replace(transition, suspension_reason=reason)

    def resume(
        self, *, at: datetime, lifting: SuspensionReason = SuspensionReason.NON_PAYMENT
    ) -> Transition:
        """Lift a suspension: a payment lifts one for non-payment, only the operator its own."""
        if self.status is not SubscriptionStatus.SUSPENDED:
            raise SubscriptionCannotBeResumed(self, f"it is {self.status}, not suspended.")
        if self.suspension_reason is not lifting:
            raise SubscriptionCannotBeResumed(
                self, f"it was suspended for {self.suspension_reason}, not {lifting}."
            )
        return self._next(
            at,
            (SubscriptionEvent.RESUMED,),
            status=SubscriptionStatus.ACTIVE,
            status_since=at,
            suspension_reason=None,
        )

    def expire(self, *, at: datetime) -> Transition:
        """End a subscription never paid for: a pending one whose first invoice is given up
        (voided, or overdue past grace), or a trial after its last day."""
        effective_at = at
        if self.status is SubscriptionStatus.TRIAL:
            assert self.trial_ends_on is not None  # every trial has its end
            effective_at = start_of(self.trial_ends_on)
            if at < effective_at:
                raise SubscriptionCannotExpire(
                    self, f"its trial runs until {self.trial_ends_on.isoformat()}."
                )
        elif self.status is not SubscriptionStatus.PENDING:
            raise SubscriptionCannotExpire(self, f"it is {self.status}; only unpaid ones expire.")
        return self._end(SubscriptionStatus.EXPIRED, effective_at, (SubscriptionEvent.EXPIRED,))

    # -- the customer's commands --------------------------------------------------------------

    def cancel(
        self,
        *,
        at: datetime,
        mode: CancellationMode = CancellationMode.PERIOD_END,
        reason: str = "",
    ) -> Transition:
        """Cancel at the end of the paid period (the default; a trial: at its end) or now.

        A pending subscription has no paid period to run to, so it always ends now (the event
        says ``immediate``). Cancelling now while a cancellation is scheduled brings it forward.
        """
        if self.is_ended:
            raise SubscriptionCannotBeCancelled(self, f"it is already {self.status}.")
        if mode is CancellationMode.IMMEDIATE or self.status is SubscriptionStatus.PENDING:
            return replace(
                self._end(SubscriptionStatus.CANCELLED, at, (SubscriptionEvent.CANCELLED,)),
                cancellation_mode=CancellationMode.IMMEDIATE,
                cancellation_reason=reason,
            )
        if self.scheduled_cancellation is not None:
            raise SubscriptionCannotBeCancelled(
                self,
                "it is already cancelled from "
                f"{self.scheduled_cancellation.effective_on.isoformat()}.",
            )
        scheduled = ScheduledCancellation(self.period_on(day_of(at)).ends_on, at, reason)
        stored = replace(self, scheduled_cancellation=scheduled, version=self.version + 1)
        announced = replace(
            stored,
            status=SubscriptionStatus.CANCELLED,
            status_since=scheduled.effective_at,
            suspension_reason=None,
            scheduled_cancellation=None,
            scheduled_change=None,
        )
        return Transition(
            stored,
            announced,
            scheduled.effective_at,
            (SubscriptionEvent.CANCELLED,),
            cancellation_mode=CancellationMode.PERIOD_END,
            cancellation_reason=reason,
        )

    def reactivate(self, *, at: datetime) -> Transition:
        """Withdraw a cancellation scheduled for the period end, before it takes effect."""
        cancellation = self.scheduled_cancellation
        if cancellation is None:
            raise SubscriptionCannotBeReactivated(self, "no cancellation is scheduled.")
        if self.status is SubscriptionStatus.SUSPENDED:
            raise SubscriptionCannotBeReactivated(
                self, "it is suspended; pay the overdue invoice first."
            )
        if at >= cancellation.effective_at:
            raise SubscriptionCannotBeReactivated(
                self, "its cancellation has already taken effect."
            )
        return self._next(at, (SubscriptionEvent.RESUMED,), scheduled_cancellation=None)

    def change_seats(
        self,
        *,
        plan: PlanTerms,
        quantity: int,
        at: datetime,
        timing: ChangeTiming | None = None,
    ) -> Transition:
        """Change the quantity within the plan's limits (``plan`` is the subscription's own).

        By default more seats take effect now and fewer at the period end (:class:`ChangeTiming`).
        """
        if plan.plan_id != self.plan_id:
            raise ValueError("seat limits come from the subscription's own plan")
        self._check_changeable()
        if quantity == self.quantity:
            raise NothingToChange()
        check_quantity(plan, quantity)
        if timing is None:
            timing = ChangeTiming.NOW if quantity > self.quantity else ChangeTiming.PERIOD_END
        return self._change(plan.plan_id, plan.billing_period, quantity, at, timing)

    def change_plan(
        self,
        *,
        current: PlanTerms,
        new: PlanTerms,
        at: datetime,
        quantity: int | None = None,
        timing: ChangeTiming | None = None,
    ) -> Transition:
        """Move to another plan of the same product, keeping the quantity unless given.

        An upgrade (the new terms cost as much or more per month) takes effect now, a downgrade
        at the period end, unless ``timing`` says otherwise. A plan billed per another period
        re-anchors the periods on the day the change takes effect.
        """
        if current.plan_id != self.plan_id:
            raise ValueError("current must be the subscription's own plan")
        self._check_changeable()
        if new.product_id != self.product_id:
            raise PlanOfAnotherProduct(new.plan_id)
        quantity = self.quantity if quantity is None else quantity
        if new.plan_id == self.plan_id:
            raise NothingToChange()
        check_quantity(new, quantity)
        if timing is None:
            upgrade = new.monthly_cost(quantity) >= current.monthly_cost(self.quantity)
            timing = ChangeTiming.NOW if upgrade else ChangeTiming.PERIOD_END
        return self._change(new.plan_id, new.billing_period, quantity, at, timing)

    def withdraw_change(self, *, at: datetime) -> Transition:
        """Drop a change scheduled for the period end: the terms stay as they are.

        Announced as ``changed`` effective on the day the change would have taken effect, from
        the scheduled terms (``previous_*``, what billing was told) back to the current ones.
        """
        change = self.scheduled_change
        if change is None:
            raise NoChangeScheduled(self, "no change is scheduled.")
        stored = replace(self, scheduled_change=None, version=self.version + 1)
        return Transition(
            stored,
            stored,
            change.effective_at,
            (SubscriptionEvent.CHANGED,),
            previous_plan_id=change.plan_id,
            previous_quantity=change.quantity,
        )

    # -- time and partners ---------------------------------------------------------------------

    def advance(self, *, to: datetime) -> Transition | None:
        """Apply what is due by ``to``: a scheduled cancellation, a trial's end, a scheduled
        change. One step at a time: call it until it returns None (a scheduler, or the service
        before a command, so a command never acts on a state the calendar has left behind).
        """
        cancellation = self.scheduled_cancellation
        if cancellation is not None and to >= cancellation.effective_at:
            # Announced when the customer cancelled: applying it publishes nothing.
            return self._end(SubscriptionStatus.CANCELLED, cancellation.effective_at, ())
        trial_end = self.trial_ends_on
        if self.status is SubscriptionStatus.TRIAL and trial_end and to >= start_of(trial_end):
            return self.expire(at=to)
        change = self.scheduled_change
        if change is not None and to >= change.effective_at:
            applied = self._with_terms(
                change.plan_id, change.billing_period, change.quantity, change.effective_on
            )
            stored = replace(applied, scheduled_change=None, version=self.version + 1)
            return Transition(stored, stored, change.effective_at, ())
        return None

    def record_provisioning(
        self, *, outcome: ProvisioningOutcome, message: str, at: datetime
    ) -> Transition | None:
        """Keep the partner's latest answer (integrations' provisioning events); the status is
        not touched. None for an answer older than the one kept, or the same one again."""
        latest = Provisioning(outcome, message[:PROVISIONING_MESSAGE_LIMIT], at)
        if self.provisioning is not None and (
            at < self.provisioning.recorded_at or latest == self.provisioning
        ):
            return None
        return self._next(at, (), provisioning=latest)

    # -- internals -----------------------------------------------------------------------------

    def _next(
        self, at: datetime, events: tuple[SubscriptionEvent, ...], **changes: Any
    ) -> Transition:
        day_of(at)  # refuses a naive instant
        stored = replace(self, version=self.version + 1, **changes)
        return Transition(stored, stored, at, events)

    def _end(
        self,
        status: SubscriptionStatus,
        effective_at: datetime,
        events: tuple[SubscriptionEvent, ...],
    ) -> Transition:
        return self._next(
            effective_at,
            events,
            status=status,
            status_since=effective_at,
            suspension_reason=None,
            scheduled_cancellation=None,
            scheduled_change=None,
        )

    def _check_changeable(self) -> None:
        if self.status is not SubscriptionStatus.ACTIVE:
            raise SubscriptionCannotBeChanged(self, f"it is {self.status}, not active.")
        if self.scheduled_cancellation is not None:
            raise SubscriptionCannotBeChanged(
                self, "it is cancelled at the period end; reactivate it first."
            )
        if self.scheduled_change is not None:
            raise SubscriptionCannotBeChanged(
                self,
                "a change is already scheduled for "
                f"{self.scheduled_change.effective_on.isoformat()}; withdraw it first.",
            )

    def _with_terms(
        self, plan_id: UUID, billing_period: BillingPeriod, quantity: int, effective_on: date
    ) -> Subscription:
        # Another billing period cannot be counted from the old anchor: it starts afresh.
        anchor = self.period_anchor if billing_period is self.billing_period else effective_on
        return replace(
            self,
            plan_id=plan_id,
            billing_period=billing_period,
            quantity=quantity,
            period_anchor=anchor,
        )

    def _change(
        self,
        plan_id: UUID,
        billing_period: BillingPeriod,
        quantity: int,
        at: datetime,
        timing: ChangeTiming,
    ) -> Transition:
        today = day_of(at)
        if timing is ChangeTiming.NOW:
            stored = replace(
                self._with_terms(plan_id, billing_period, quantity, today),
                version=self.version + 1,
            )
            announced, effective_at = stored, at
        else:
            change = ScheduledChange(
                plan_id, billing_period, quantity, self.period_on(today).ends_on
            )
            stored = replace(self, scheduled_change=change, version=self.version + 1)
            announced = replace(
                stored._with_terms(plan_id, billing_period, quantity, change.effective_on),
                scheduled_change=None,
            )
            effective_at = change.effective_at
        return Transition(
            stored,
            announced,
            effective_at,
            (SubscriptionEvent.CHANGED,),
            previous_plan_id=self.plan_id,
            previous_quantity=self.quantity,
        )


def check_quantity(plan: PlanTerms, quantity: int) -> None:
    """Refuse a quantity outside the plan's limits."""
    if not plan.allows(quantity):
        raise QuantityOutOfRange(plan, quantity)


# Errors ---------------------------------------------------------------------------------------


class SubscriptionConflict(InvalidStateTransition):
    """A command the subscription's current state does not allow (each has its own code)."""

    action = "change"

    def __init__(self, subscription: Subscription, why: str) -> None:
        super().__init__(
            f"Cannot {self.action} the subscription: {why}",
            subscription_status=str(subscription.status),
            version=subscription.version,
        )


class SubscriptionCannotBeActivated(SubscriptionConflict):
    code = "subscription_cannot_be_activated"
    title = "Only a pending or trial subscription is activated"
    action = "activate"


class SubscriptionCannotBeSuspended(SubscriptionConflict):
    code = "subscription_cannot_be_suspended"
    title = "Only an active subscription can be suspended"
    action = "suspend"


class SubscriptionCannotBeResumed(SubscriptionConflict):
    code = "subscription_cannot_be_resumed"
    title = "The subscription is not suspended for this reason"
    action = "resume"


class SubscriptionCannotExpire(SubscriptionConflict):
    code = "subscription_cannot_expire"
    title = "Only an unpaid subscription expires"
    action = "expire"


class SubscriptionCannotBeCancelled(SubscriptionConflict):
    code = "subscription_cannot_be_cancelled"
    title = "The subscription cannot be cancelled in its current state"
    action = "cancel"


class SubscriptionCannotBeReactivated(SubscriptionConflict):
    code = "subscription_cannot_be_reactivated"
    title = "The subscription has no cancellation to withdraw"
    action = "reactivate"


class SubscriptionCannotBeChanged(SubscriptionConflict):
    code = "subscription_cannot_be_changed"
    title = "The subscription's seats or plan cannot be changed in its current state"
    action = "change"


class NoChangeScheduled(SubscriptionConflict):
    code = "no_change_scheduled"
    title = "The subscription has no scheduled change to withdraw"
    action = "withdraw the change of"


class SubscriptionVersionConflict(Conflict):
    code = "subscription_version_conflict"
    title = "The subscription changed since it was read"

    def __init__(self, subscription: Subscription, expected: int) -> None:
        super().__init__(
            f"The subscription is at version {subscription.version}, not {expected}; "
            "read it again and retry.",
            version=subscription.version,
        )


class QuantityOutOfRange(UnprocessableEntity):
    code = "quantity_out_of_range"
    title = "The quantity is outside the plan's limits"

    def __init__(self, plan: PlanTerms, quantity: int) -> None:
        upper = "" if plan.max_quantity is None else f" and at most {plan.max_quantity}"
        super().__init__(
            f"The plan allows at least {plan.min_quantity}{upper}; asked for {quantity}.",
            min_quantity=plan.min_quantity,
            max_quantity=plan.max_quantity,
        )


class PlanOfAnotherProduct(UnprocessableEntity):
    code = "plan_of_another_product"
    title = "A subscription changes only to a plan of its own product"

    def __init__(self, plan_id: UUID) -> None:
        super().__init__(f"The plan {plan_id} belongs to another product.")


class NothingToChange(UnprocessableEntity):
    code = "nothing_to_change"
    title = "The subscription already has these terms"

    def __init__(self) -> None:
        super().__init__("The requested plan and quantity are the current ones.")
