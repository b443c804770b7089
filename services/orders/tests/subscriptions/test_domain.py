"""The subscription lifecycle as plain values: every transition, and every one it refuses."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.subscriptions.domain import (
    BillingPeriod,
    CancellationMode,
    ChangeTiming,
    NoChangeScheduled,
    NothingToChange,
    Period,
    PlanOfAnotherProduct,
    PlanTerms,
    ProvisioningOutcome,
    QuantityOutOfRange,
    Subscription,
    SubscriptionCannotBeActivated,
    SubscriptionCannotBeCancelled,
    SubscriptionCannotBeChanged,
    SubscriptionCannotBeReactivated,
    SubscriptionCannotBeResumed,
    SubscriptionCannotBeSuspended,
    SubscriptionCannotExpire,
    SubscriptionEvent,
    SubscriptionStatus,
    SubscriptionVersionConflict,
    SuspensionReason,
    billing_period_on,
    start_of,
)
from vitrina_contracts.billing_calendar import add_months
from vitrina_kit.problems import InvalidStateTransition, UnprocessableEntity

S, E = SubscriptionStatus, SubscriptionEvent
PRODUCT = uuid.uuid4()
STANDARD = PlanTerms(
    plan_id=uuid.uuid4(),
    product_id=PRODUCT,
    billing_period=BillingPeriod.MONTH,
    unit_price=Decimal("450.00"),
    min_quantity=1,
    max_quantity=100,
)
BUSINESS = replace(STANDARD, plan_id=uuid.uuid4(), unit_price=Decimal("900.00"))
YEARLY = replace(
    STANDARD, plan_id=uuid.uuid4(), billing_period=BillingPeriod.YEAR, unit_price=Decimal("4800")
)
WITH_TRIAL = replace(STANDARD, plan_id=uuid.uuid4(), trial_days=14)
ORDERED_AT = datetime(2025, 12, 1, 9, 30, tzinfo=UTC)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def new(
    *, plan: PlanTerms = STANDARD, quantity: int = 10, starts_on: date = date(2025, 12, 1)
) -> Subscription:
    return Subscription.create(
        subscription_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        partner_id=uuid.uuid4(),
        plan=plan,
        quantity=quantity,
        starts_on=starts_on,
        at=ORDERED_AT,
    ).subscription


def active(*, plan: PlanTerms = STANDARD, quantity: int = 10) -> Subscription:
    return new(plan=plan, quantity=quantity).activate(at=at(date(2025, 12, 2))).subscription


# Billing periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "day", "expected"),
    [
        (date(2025, 12, 1), date(2025, 12, 1), Period(date(2025, 12, 1), date(2026, 1, 1))),
        (date(2025, 12, 1), date(2025, 12, 31), Period(date(2025, 12, 1), date(2026, 1, 1))),
        (date(2025, 12, 1), date(2026, 1, 1), Period(date(2026, 1, 1), date(2026, 2, 1))),
        (date(2025, 1, 31), date(2025, 2, 27), Period(date(2025, 1, 31), date(2025, 2, 28))),
        (date(2025, 1, 31), date(2025, 2, 28), Period(date(2025, 2, 28), date(2025, 3, 31))),
        (date(2024, 1, 31), date(2024, 2, 29), Period(date(2024, 2, 29), date(2024, 3, 31))),
        (date(2025, 1, 31), date(2025, 4, 30), Period(date(2025, 4, 30), date(2025, 5, 31))),
        (date(2025, 3, 31), date(2025, 4, 29), Period(date(2025, 3, 31), date(2025, 4, 30))),
    ],
)
def test_monthly_periods_keep_a_month_end_anchor(anchor: date, day: date, expected: Period) -> None:
    assert billing_period_on(anchor, BillingPeriod.MONTH, day) == expected


def test_yearly_periods_from_29_february() -> None:
    anchor = date(2024, 2, 29)
    assert billing_period_on(anchor, BillingPeriod.YEAR, date(2025, 2, 27)) == Period(
        anchor, date(2025, 2, 28)
    )
    assert billing_period_on(anchor, BillingPeriod.YEAR, date(2028, 3, 1)) == Period(
        date(2028, 2, 29), date(2029, 2, 28)
    )


def test_no_period_before_the_anchor() -> None:
    with pytest.raises(ValueError, match="before the first period"):
        billing_period_on(date(2025, 12, 1), BillingPeriod.MONTH, date(2025, 11, 30))


@settings(max_examples=200, deadline=None, database=None)
@given(
    anchor=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    offset=st.integers(min_value=0, max_value=3000),
    period=st.sampled_from(BillingPeriod),
)
def test_a_day_is_in_exactly_one_period_and_periods_follow_each_other(
    anchor: date, offset: int, period: BillingPeriod
) -> None:
    day = anchor + timedelta(days=offset)
    current = billing_period_on(anchor, period, day)

    assert day in current
    assert billing_period_on(anchor, period, current.ends_on).starts_on == current.ends_on
    assert billing_period_on(anchor, period, current.starts_on) == current
    lengths = range(28, 32) if period is BillingPeriod.MONTH else range(365, 367)
    assert current.days in lengths
    # Every boundary is the anchor's day of the month, or the month's last day when shorter.
    assert current.starts_on.day == add_months(current.starts_on, 0).day
    assert current.starts_on.day == min(anchor.day, _month_length(current.starts_on))


def _month_length(day: date) -> int:
    return (add_months(day.replace(day=1), 1) - day.replace(day=1)).days


# Creation, payment, trial -------------------------------------------------------------------


def test_created_pending_awaiting_the_first_payment() -> None:
    created = Subscription.create(
        subscription_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        partner_id=uuid.uuid4(),
        plan=STANDARD,
        quantity=10,
        starts_on=date(2025, 12, 1),
        at=ORDERED_AT,
        order_id=uuid.uuid4(),
    )
    subscription = created.subscription

    assert created.events == (E.CREATED,)
    assert created.announced == subscription
    assert created.effective_at == ORDERED_AT
    assert subscription.status is S.PENDING
    assert subscription.version == 1
    assert subscription.period_anchor == date(2025, 12, 1)
    assert subscription.product_id == PRODUCT
    assert subscription.trial_ends_on is None


def test_a_plan_with_trial_days_starts_a_trial_and_tells_the_partner_to_provision() -> None:
    created = Subscription.create(
        subscription_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        partner_id=uuid.uuid4(),
        plan=WITH_TRIAL,
        quantity=5,
        starts_on=date(2025, 12, 1),
        at=ORDERED_AT,
    )

    assert created.events == (E.CREATED, E.ACTIVATED)
    assert created.subscription.status is S.TRIAL
    assert created.subscription.trial_ends_on == date(2025, 12, 15)
    assert created.subscription.period_anchor == date(2025, 12, 15)
    assert created.subscription.period_on(date(2025, 12, 3)) == Period(
        date(2025, 12, 1), date(2025, 12, 15)
    )


@pytest.mark.parametrize("quantity", [0, 101])
def test_created_only_within_the_plans_limits(quantity: int) -> None:
    with pytest.raises(QuantityOutOfRange):
        new(quantity=quantity)


def test_created_only_with_a_timezone_aware_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Subscription.create(
            subscription_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            partner_id=uuid.uuid4(),
            plan=STANDARD,
            quantity=1,
            starts_on=date(2025, 12, 1),
            at=datetime(2025, 12, 1, 9, 0),  # naive on purpose
        )


def test_first_invoice_paid_activates_a_pending_subscription() -> None:
    paid_at = at(date(2025, 12, 2))
    activated = new().invoice_paid(at=paid_at)

    assert activated is not None
    assert activated.events == (E.ACTIVATED,)
    assert activated.subscription.status is S.ACTIVE
    assert activated.subscription.status_since == paid_at
    assert activated.subscription.version == 2


def test_a_trial_converts_when_paid_and_keeps_its_free_days() -> None:
    trial = new(plan=WITH_TRIAL)
    converted = trial.activate(at=at(date(2025, 12, 5)))

    assert converted.events == (E.ACTIVATED,)
    assert converted.subscription.status is S.ACTIVE
    assert converted.subscription.period_anchor == date(2025, 12, 15)


def test_a_trial_ends_unpaid_and_expires_on_its_last_day() -> None:
    trial = new(plan=WITH_TRIAL)
    assert trial.advance(to=at(date(2025, 12, 14), hour=23)) is None

    expired = trial.advance(to=at(date(2025, 12, 15), hour=0))

    assert expired is not None
    assert expired.events == (E.EXPIRED,)
    assert expired.subscription.status is S.EXPIRED
    assert expired.effective_at == start_of(date(2025, 12, 15))


def test_a_trial_does_not_expire_early() -> None:
    with pytest.raises(SubscriptionCannotExpire, match="trial runs until 2025-12-15"):
        new(plan=WITH_TRIAL).expire(at=at(date(2025, 12, 10)))


def test_a_pending_subscription_never_paid_expires_when_its_invoice_is_overdue() -> None:
    expired = new().payment_overdue(at=at(date(2025, 12, 20)))

    assert expired is not None
    assert expired.events == (E.EXPIRED,)
    assert expired.subscription.status is S.EXPIRED


@pytest.mark.parametrize("status", [S.ACTIVE, S.SUSPENDED, S.CANCELLED, S.EXPIRED])
def test_only_pending_and_trial_are_activated(status: SubscriptionStatus) -> None:
    with pytest.raises(SubscriptionCannotBeActivated):
        replace(new(), status=status).activate(at=ORDERED_AT)


@pytest.mark.parametrize("status", [S.ACTIVE, S.SUSPENDED, S.CANCELLED])
def test_only_unpaid_ones_expire(status: SubscriptionStatus) -> None:
    with pytest.raises(SubscriptionCannotExpire):
        replace(new(), status=status).expire(at=ORDERED_AT)


# Dunning ------------------------------------------------------------------------------------


def test_overdue_past_grace_suspends_and_payment_resumes() -> None:
    subscription = active()
    suspended = subscription.payment_overdue(at=at(date(2026, 1, 20)))
    assert suspended is not None
    assert suspended.events == (E.SUSPENDED,)
    assert suspended.suspension_reason is SuspensionReason.NON_PAYMENT
    assert suspended.subscription.status is S.SUSPENDED

    resumed = suspended.subscription.invoice_paid(at=at(date(2026, 1, 22)))

    assert resumed is not None
    assert resumed.events == (E.RESUMED,)
    assert resumed.subscription.status is S.ACTIVE
    assert resumed.subscription.suspension_reason is None
    assert resumed.subscription.version == subscription.version + 2


def test_a_payment_does_not_lift_the_operators_suspension() -> None:
    suspended = active().suspend(reason=SuspensionReason.OPERATOR, at=ORDERED_AT).subscription

    assert suspended.invoice_paid(at=ORDERED_AT) is None
    with pytest.raises(SubscriptionCannotBeResumed, match="suspended for operator"):
        suspended.resume(at=ORDERED_AT)
    lifted = suspended.resume(at=ORDERED_AT, lifting=SuspensionReason.OPERATOR)
    assert lifted.subscription.status is S.ACTIVE


@pytest.mark.parametrize("status", [S.PENDING, S.TRIAL, S.SUSPENDED, S.CANCELLED, S.EXPIRED])
def test_only_an_active_subscription_is_suspended(status: SubscriptionStatus) -> None:
    with pytest.raises(SubscriptionCannotBeSuspended):
        replace(active(), status=status).suspend(reason=SuspensionReason.OPERATOR, at=ORDERED_AT)


def test_only_a_suspended_subscription_resumes() -> None:
    with pytest.raises(SubscriptionCannotBeResumed, match="not suspended"):
        active().resume(at=ORDERED_AT)


@pytest.mark.parametrize("status", [S.ACTIVE, S.CANCELLED, S.EXPIRED])
def test_a_payment_that_changes_nothing_is_no_transition(status: SubscriptionStatus) -> None:
    assert replace(active(), status=status).invoice_paid(at=ORDERED_AT) is None


@pytest.mark.parametrize("status", [S.TRIAL, S.SUSPENDED, S.CANCELLED, S.EXPIRED])
def test_an_overdue_invoice_that_changes_nothing_is_no_transition(
    status: SubscriptionStatus,
) -> None:
    assert replace(active(), status=status).payment_overdue(at=ORDERED_AT) is None


# Cancellation -------------------------------------------------------------------------------


def test_cancel_at_period_end_is_scheduled_and_announced_as_cancelled_from_then() -> None:
    subscription = active()
    cancelled = subscription.cancel(at=at(date(2025, 12, 10)), reason="Дорого.")

    assert cancelled.events == (E.CANCELLED,)
    assert cancelled.cancellation_mode is CancellationMode.PERIOD_END
    assert cancelled.cancellation_reason == "Дорого."
    assert cancelled.effective_at == start_of(date(2026, 1, 1))
    stored = cancelled.subscription
    assert stored.status is S.ACTIVE
    assert stored.scheduled_cancellation is not None
    assert stored.scheduled_cancellation.effective_on == date(2026, 1, 1)
    assert cancelled.announced.status is S.CANCELLED
    assert cancelled.announced.scheduled_cancellation is None

    assert stored.advance(to=at(date(2025, 12, 31), hour=23)) is None
    ended = stored.advance(to=start_of(date(2026, 1, 1)))
    assert ended is not None
    assert ended.events == ()  # announced when the customer decided
    assert ended.subscription.status is S.CANCELLED
    assert ended.subscription.scheduled_cancellation is None


def test_cancel_immediately() -> None:
    now = at(date(2025, 12, 10))
    cancelled = active().cancel(at=now, mode=CancellationMode.IMMEDIATE)

    assert cancelled.events == (E.CANCELLED,)
    assert cancelled.cancellation_mode is CancellationMode.IMMEDIATE
    assert cancelled.effective_at == now
    assert cancelled.subscription.status is S.CANCELLED


def test_a_pending_subscription_is_cancelled_at_once_whatever_the_mode() -> None:
    cancelled = new().cancel(at=ORDERED_AT)

    assert cancelled.subscription.status is S.CANCELLED
    assert cancelled.cancellation_mode is CancellationMode.IMMEDIATE


def test_a_trial_cancelled_at_period_end_stops_at_the_trials_end_not_expired() -> None:
    scheduled = new(plan=WITH_TRIAL).cancel(at=at(date(2025, 12, 3))).subscription
    assert scheduled.scheduled_cancellation is not None
    assert scheduled.scheduled_cancellation.effective_on == date(2025, 12, 15)

    ended = scheduled.advance(to=start_of(date(2025, 12, 15)))

    assert ended is not None
    assert ended.subscription.status is S.CANCELLED


def test_a_trial_cancelled_then_paid_runs_to_the_end_of_the_paid_period() -> None:
    scheduled = new(plan=WITH_TRIAL).cancel(at=at(date(2025, 12, 3))).subscription
    paid = scheduled.activate(at=at(date(2025, 12, 5))).subscription

    assert paid.scheduled_cancellation is not None
    # The trial ends on 15 December; the first paid period is the rest of that calendar month.
    assert paid.scheduled_cancellation.effective_on == date(2026, 1, 1)


def test_monthly_periods_are_calendar_months_as_billing_invoices_them() -> None:
    # Started mid-month: the first period runs to the month's end, the next ones are months.
    subscription = new(starts_on=date(2025, 12, 10))
    assert subscription.period_on(date(2025, 12, 20)) == Period(date(2025, 12, 1), date(2026, 1, 1))
    assert subscription.period_on(date(2026, 2, 28)) == Period(date(2026, 2, 1), date(2026, 3, 1))


def test_cancelling_now_brings_a_scheduled_cancellation_forward() -> None:
    scheduled = active().cancel(at=at(date(2025, 12, 10))).subscription
    with pytest.raises(SubscriptionCannotBeCancelled, match="already cancelled from 2026-01-01"):
        scheduled.cancel(at=at(date(2025, 12, 11)))

    now = scheduled.cancel(at=at(date(2025, 12, 11)), mode=CancellationMode.IMMEDIATE)

    assert now.subscription.status is S.CANCELLED


@pytest.mark.parametrize("status", [S.CANCELLED, S.EXPIRED])
def test_an_ended_subscription_is_not_cancelled_again(status: SubscriptionStatus) -> None:
    with pytest.raises(SubscriptionCannotBeCancelled, match="already"):
        replace(active(), status=status).cancel(at=ORDERED_AT)


def test_reactivate_before_the_period_end_withdraws_the_cancellation() -> None:
    scheduled = active().cancel(at=at(date(2025, 12, 10))).subscription
    reactivated = scheduled.reactivate(at=at(date(2025, 12, 20)))

    assert reactivated.events == (E.RESUMED,)
    assert reactivated.subscription.status is S.ACTIVE
    assert reactivated.subscription.scheduled_cancellation is None
    assert reactivated.subscription.advance(to=start_of(date(2026, 1, 2))) is None


def test_reactivate_refuses_without_a_cancellation_too_late_or_suspended() -> None:
    with pytest.raises(SubscriptionCannotBeReactivated, match="no cancellation"):
        active().reactivate(at=ORDERED_AT)
    scheduled = active().cancel(at=at(date(2025, 12, 10))).subscription
    with pytest.raises(SubscriptionCannotBeReactivated, match="already taken effect"):
        scheduled.reactivate(at=start_of(date(2026, 1, 1)))
    suspended = scheduled.suspend(reason=SuspensionReason.NON_PAYMENT, at=ORDERED_AT).subscription
    with pytest.raises(SubscriptionCannotBeReactivated, match="pay the overdue invoice"):
        suspended.reactivate(at=at(date(2025, 12, 20)))


# Seats and plans ----------------------------------------------------------------------------


def test_more_seats_take_effect_now() -> None:
    now = at(date(2025, 12, 16))
    changed = active().change_seats(plan=STANDARD, quantity=15, at=now)

    assert changed.events == (E.CHANGED,)
    assert changed.effective_at == now
    assert changed.subscription.quantity == 15
    assert changed.previous_quantity == 10
    assert changed.previous_plan_id == STANDARD.plan_id


def test_fewer_seats_wait_for_the_period_end_unless_asked_now() -> None:
    subscription = active()
    changed = subscription.change_seats(plan=STANDARD, quantity=4, at=at(date(2025, 12, 16)))

    assert changed.effective_at == start_of(date(2026, 1, 1))
    assert changed.subscription.quantity == 10
    assert changed.subscription.scheduled_change is not None
    assert changed.announced.quantity == 4
    applied = changed.subscription.advance(to=start_of(date(2026, 1, 1)))
    assert applied is not None
    assert applied.events == ()
    assert applied.subscription.quantity == 4
    assert applied.subscription.scheduled_change is None

    now = subscription.change_seats(
        plan=STANDARD, quantity=4, at=at(date(2025, 12, 16)), timing=ChangeTiming.NOW
    )
    assert now.subscription.quantity == 4


def test_seats_stay_within_the_plans_limits() -> None:
    with pytest.raises(QuantityOutOfRange) as refused:
        active().change_seats(plan=STANDARD, quantity=101, at=ORDERED_AT)
    assert refused.value.extensions == {"min_quantity": 1, "max_quantity": 100}


def test_the_same_quantity_is_nothing_to_change() -> None:
    with pytest.raises(NothingToChange):
        active().change_seats(plan=STANDARD, quantity=10, at=ORDERED_AT)


def test_an_upgrade_takes_effect_now_a_downgrade_at_the_period_end() -> None:
    upgraded = active().change_plan(current=STANDARD, new=BUSINESS, at=at(date(2025, 12, 16)))
    assert upgraded.subscription.plan_id == BUSINESS.plan_id
    assert upgraded.effective_at == at(date(2025, 12, 16))

    downgraded = upgraded.subscription.change_plan(
        current=BUSINESS, new=STANDARD, at=at(date(2025, 12, 17))
    )
    assert downgraded.subscription.plan_id == BUSINESS.plan_id
    assert downgraded.announced.plan_id == STANDARD.plan_id
    assert downgraded.effective_at == start_of(date(2026, 1, 1))
    assert downgraded.previous_plan_id == BUSINESS.plan_id


def test_a_plan_billed_per_year_restarts_the_periods_when_it_takes_effect() -> None:
    # 4800 a year is cheaper per month than 450: a downgrade, at the period end.
    changed = active().change_plan(current=STANDARD, new=YEARLY, at=at(date(2025, 12, 16)))
    assert changed.announced.period_anchor == date(2026, 1, 1)
    assert changed.announced.billing_period is BillingPeriod.YEAR

    now = active().change_plan(
        current=STANDARD, new=YEARLY, at=at(date(2025, 12, 16)), timing=ChangeTiming.NOW
    )
    assert now.subscription.period_anchor == date(2025, 12, 16)
    assert now.subscription.period_on(date(2026, 6, 1)) == Period(
        date(2025, 12, 16), date(2026, 12, 16)
    )


def test_a_plan_change_stays_within_the_product_and_the_new_plans_limits() -> None:
    with pytest.raises(PlanOfAnotherProduct):
        active().change_plan(
            current=STANDARD, new=replace(BUSINESS, product_id=uuid.uuid4()), at=ORDERED_AT
        )
    with pytest.raises(QuantityOutOfRange):
        active().change_plan(
            current=STANDARD, new=replace(BUSINESS, min_quantity=20), at=ORDERED_AT
        )
    with pytest.raises(NothingToChange):
        active().change_plan(current=STANDARD, new=STANDARD, at=ORDERED_AT)


@pytest.mark.parametrize("status", [S.PENDING, S.TRIAL, S.SUSPENDED, S.CANCELLED, S.EXPIRED])
def test_only_an_active_subscription_changes(status: SubscriptionStatus) -> None:
    subscription = replace(active(), status=status)
    with pytest.raises(SubscriptionCannotBeChanged, match=f"it is {status}"):
        subscription.change_seats(plan=STANDARD, quantity=12, at=ORDERED_AT)
    with pytest.raises(SubscriptionCannotBeChanged):
        subscription.change_plan(current=STANDARD, new=BUSINESS, at=ORDERED_AT)


def test_one_scheduled_change_at_a_time_and_none_while_cancelling() -> None:
    scheduled = active().change_seats(plan=STANDARD, quantity=4, at=ORDERED_AT).subscription
    with pytest.raises(SubscriptionCannotBeChanged, match="withdraw it first"):
        scheduled.change_seats(plan=STANDARD, quantity=20, at=ORDERED_AT)
    cancelling = active().cancel(at=ORDERED_AT).subscription
    with pytest.raises(SubscriptionCannotBeChanged, match="reactivate it first"):
        cancelling.change_seats(plan=STANDARD, quantity=20, at=ORDERED_AT)


def test_withdrawing_a_scheduled_change_announces_the_current_terms_from_that_day() -> None:
    scheduled = active().change_seats(plan=STANDARD, quantity=4, at=ORDERED_AT).subscription
    withdrawn = scheduled.withdraw_change(at=at(date(2025, 12, 20)))

    assert withdrawn.events == (E.CHANGED,)
    assert withdrawn.subscription.scheduled_change is None
    assert withdrawn.subscription.quantity == 10
    assert withdrawn.previous_quantity == 4
    assert withdrawn.effective_at == start_of(date(2026, 1, 1))
    with pytest.raises(NoChangeScheduled):
        withdrawn.subscription.withdraw_change(at=ORDERED_AT)


def test_seat_limits_come_from_the_subscriptions_own_plan() -> None:
    with pytest.raises(ValueError, match="own plan"):
        active().change_seats(plan=BUSINESS, quantity=12, at=ORDERED_AT)


# Provisioning, versions, errors -------------------------------------------------------------


def test_provisioning_is_recorded_without_touching_the_status() -> None:
    subscription = active()
    recorded = subscription.record_provisioning(
        outcome=ProvisioningOutcome.FAILED, message="HTTP 503" * 500, at=at(date(2025, 12, 2))
    )

    assert recorded is not None
    assert recorded.events == ()
    assert recorded.subscription.status is S.ACTIVE
    assert recorded.subscription.version == subscription.version + 1
    provisioning = recorded.subscription.provisioning
    assert provisioning is not None
    assert provisioning.outcome is ProvisioningOutcome.FAILED
    assert len(provisioning.message) == 1000
    later = recorded.subscription.record_provisioning(
        outcome=ProvisioningOutcome.SUCCEEDED, message="ok", at=at(date(2025, 12, 3))
    )
    assert later is not None
    # An older answer arriving late, or the same one again, changes nothing.
    assert (
        later.subscription.record_provisioning(
            outcome=ProvisioningOutcome.FAILED, message="late", at=at(date(2025, 12, 2))
        )
        is None
    )
    assert (
        later.subscription.record_provisioning(
            outcome=ProvisioningOutcome.SUCCEEDED, message="ok", at=at(date(2025, 12, 3))
        )
        is None
    )


def test_a_stale_version_is_a_conflict() -> None:
    subscription = active()
    subscription.expect_version(subscription.version)
    with pytest.raises(SubscriptionVersionConflict) as refused:
        subscription.expect_version(subscription.version - 1)
    assert refused.value.status == 409


def test_errors_carry_their_http_status() -> None:
    assert issubclass(SubscriptionCannotBeCancelled, InvalidStateTransition)
    assert SubscriptionCannotBeCancelled.status == 409
    assert issubclass(QuantityOutOfRange, UnprocessableEntity)
    assert QuantityOutOfRange.status == 422
