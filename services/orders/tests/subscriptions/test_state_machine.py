"""Random sequences of commands and events against one subscription, with its invariants checked
after every step (hypothesis' rule-based state machine)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from orders.subscriptions.domain import (
    ENDED,
    BillingPeriod,
    CancellationMode,
    ChangeTiming,
    PlanTerms,
    ProvisioningOutcome,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
    SuspensionReason,
    Transition,
)
from vitrina_kit.problems import InvalidStateTransition, UnprocessableEntity

S = SubscriptionStatus
PRODUCT = uuid.uuid4()
MONTHLY = PlanTerms(
    plan_id=uuid.uuid4(),
    product_id=PRODUCT,
    billing_period=BillingPeriod.MONTH,
    unit_price=Decimal("450.00"),
    min_quantity=1,
    max_quantity=100,
)
PLANS = (
    MONTHLY,
    replace(MONTHLY, plan_id=uuid.uuid4(), unit_price=Decimal("900.00"), min_quantity=5),
    replace(MONTHLY, plan_id=uuid.uuid4(), trial_days=14, max_quantity=20),
    replace(
        MONTHLY,
        plan_id=uuid.uuid4(),
        billing_period=BillingPeriod.YEAR,
        unit_price=Decimal("8400.00"),
        min_quantity=10,
        max_quantity=None,
    ),
)
ANOTHER_PRODUCTS_PLAN = replace(MONTHLY, plan_id=uuid.uuid4(), product_id=uuid.uuid4())
BY_ID = {plan.plan_id: plan for plan in (*PLANS, ANOTHER_PRODUCTS_PLAN)}

# Every status change a subscription may make; anything else is a bug.
ALLOWED_MOVES = {
    (S.PENDING, S.ACTIVE),
    (S.PENDING, S.EXPIRED),
    (S.PENDING, S.CANCELLED),
    (S.TRIAL, S.ACTIVE),
    (S.TRIAL, S.EXPIRED),
    (S.TRIAL, S.CANCELLED),
    (S.ACTIVE, S.SUSPENDED),
    (S.ACTIVE, S.CANCELLED),
    (S.SUSPENDED, S.ACTIVE),
    (S.SUSPENDED, S.CANCELLED),
}
# The events that announce each status reached by a command or an event, when one is published.
STATUS_EVENTS = {
    S.ACTIVE: {SubscriptionEvent.ACTIVATED, SubscriptionEvent.RESUMED},
    S.SUSPENDED: {SubscriptionEvent.SUSPENDED},
    S.CANCELLED: {SubscriptionEvent.CANCELLED},
    S.EXPIRED: {SubscriptionEvent.EXPIRED},
}
# Only these lift a suspension: a payment, or the operator lifting its own.
LIFTING_RULES = {"invoice_paid", "resume_after_payment", "operator_lifts"}

quantities = st.integers(min_value=-1, max_value=130)
timings = st.none() | st.sampled_from(ChangeTiming)


class SubscriptionLifecycle(RuleBasedStateMachine):
    subscription: Subscription
    now: datetime

    @initialize(
        plan=st.sampled_from(PLANS),
        data=st.data(),
        starts_on=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
    )
    def create(self, plan: PlanTerms, data: st.DataObject, starts_on: date) -> None:
        upper = plan.max_quantity or 500
        quantity = data.draw(st.integers(min_value=plan.min_quantity, max_value=upper))
        self.now = datetime(starts_on.year, starts_on.month, starts_on.day, 9, tzinfo=UTC)
        created = Subscription.create(
            subscription_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            partner_id=uuid.uuid4(),
            plan=plan,
            quantity=quantity,
            starts_on=starts_on,
            at=self.now,
        )
        assert created.subscription.version == 1
        assert created.events[0] is SubscriptionEvent.CREATED
        self.subscription = created.subscription
        self.ever_ended = False

    def attempt(self, rule_name: str, command: Callable[[], Transition | None]) -> None:
        """Run ``command``; check what it did, or that a refusal left everything as it was."""
        before = self.subscription
        try:
            transition = command()
        except (InvalidStateTransition, UnprocessableEntity):
            assert self.subscription is before
            return
        if transition is None:
            return
        after = transition.subscription
        assert after.version == before.version + 1, "each accepted change is one version up"
        assert transition.announced.version == after.version
        assert after.subscription_id == before.subscription_id
        if after.status is not before.status:
            assert (before.status, after.status) in ALLOWED_MOVES, (before.status, after.status)
            if before.status is S.SUSPENDED and after.status is S.ACTIVE:
                assert rule_name in LIFTING_RULES, rule_name
            if transition.events and after.status in STATUS_EVENTS:
                assert set(transition.events) & STATUS_EVENTS[after.status]
        if before.status in ENDED:
            assert after.status is before.status, "cancelled and expired are terminal"
        for event in transition.events:
            if event is SubscriptionEvent.CHANGED:
                assert transition.previous_plan_id is not None
                assert transition.previous_quantity is not None
        self.subscription = after

    # -- time --------------------------------------------------------------------------------

    @rule(days=st.integers(min_value=0, max_value=60), hours=st.integers(min_value=0, max_value=23))
    def time_passes(self, days: int, hours: int) -> None:
        self.now += timedelta(days=days, hours=hours)

    @rule()
    def calendar_catches_up(self) -> None:
        # What the scheduler does: apply everything due by now, one step at a time.
        for _ in range(5):
            before = self.subscription
            self.attempt("advance", lambda: self.subscription.advance(to=self.now))
            if self.subscription is before:
                break

    # -- billing's events ---------------------------------------------------------------------

    @rule()
    def invoice_paid(self) -> None:
        self.attempt("invoice_paid", lambda: self.subscription.invoice_paid(at=self.now))

    @rule()
    def payment_overdue(self) -> None:
        self.attempt("payment_overdue", lambda: self.subscription.payment_overdue(at=self.now))

    @rule()
    def activate(self) -> None:
        self.attempt("activate", lambda: self.subscription.activate(at=self.now))

    @rule()
    def resume_after_payment(self) -> None:
        self.attempt("resume_after_payment", lambda: self.subscription.resume(at=self.now))

    @rule()
    def expire(self) -> None:
        self.attempt("expire", lambda: self.subscription.expire(at=self.now))

    # -- the operator ------------------------------------------------------------------------

    @rule()
    def operator_suspends(self) -> None:
        self.attempt(
            "operator_suspends",
            lambda: self.subscription.suspend(reason=SuspensionReason.OPERATOR, at=self.now),
        )

    @rule()
    def operator_lifts(self) -> None:
        self.attempt(
            "operator_lifts",
            lambda: self.subscription.resume(at=self.now, lifting=SuspensionReason.OPERATOR),
        )

    # -- the customer ------------------------------------------------------------------------

    @rule(mode=st.sampled_from(CancellationMode), reason=st.text(max_size=20))
    def cancel(self, mode: CancellationMode, reason: str) -> None:
        self.attempt(
            "cancel", lambda: self.subscription.cancel(at=self.now, mode=mode, reason=reason)
        )

    @rule()
    def reactivate(self) -> None:
        self.attempt("reactivate", lambda: self.subscription.reactivate(at=self.now))

    @rule(quantity=quantities, timing=timings)
    def change_seats(self, quantity: int, timing: ChangeTiming | None) -> None:
        plan = BY_ID[self.subscription.plan_id]
        self.attempt(
            "change_seats",
            lambda: self.subscription.change_seats(
                plan=plan, quantity=quantity, at=self.now, timing=timing
            ),
        )

    @rule(
        new=st.sampled_from((*PLANS, ANOTHER_PRODUCTS_PLAN)),
        quantity=st.none() | quantities,
        timing=timings,
    )
    def change_plan(
        self, new: PlanTerms, quantity: int | None, timing: ChangeTiming | None
    ) -> None:
        current = BY_ID[self.subscription.plan_id]
        self.attempt(
            "change_plan",
            lambda: self.subscription.change_plan(
                current=current, new=new, quantity=quantity, at=self.now, timing=timing
            ),
        )

    @rule()
    def withdraw_change(self) -> None:
        self.attempt("withdraw_change", lambda: self.subscription.withdraw_change(at=self.now))

    # -- the partner (through integrations) --------------------------------------------------

    @rule(
        outcome=st.sampled_from(ProvisioningOutcome),
        message=st.text(max_size=1200),
        hours_ago=st.integers(min_value=0, max_value=48),
    )
    def provisioning(self, outcome: ProvisioningOutcome, message: str, hours_ago: int) -> None:
        status = self.subscription.status
        self.attempt(
            "provisioning",
            lambda: self.subscription.record_provisioning(
                outcome=outcome, message=message, at=self.now - timedelta(hours=hours_ago)
            ),
        )
        assert self.subscription.status is status, "provisioning never moves the status"

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def quantity_is_within_the_plans_limits(self) -> None:
        subscription = self.subscription
        assert subscription.product_id == PRODUCT
        assert BY_ID[subscription.plan_id].allows(subscription.quantity)
        change = subscription.scheduled_change
        if change is not None:
            assert BY_ID[change.plan_id].allows(change.quantity)
            assert BY_ID[change.plan_id].product_id == PRODUCT

    @invariant()
    def terminal_statuses_stay_terminal(self) -> None:
        if self.ever_ended:
            assert self.subscription.is_ended
        self.ever_ended = self.subscription.is_ended

    @invariant()
    def scheduled_things_live_only_on_a_running_subscription(self) -> None:
        subscription = self.subscription
        if subscription.scheduled_cancellation is not None:
            # Trial or active; suspended keeps the customer's decision to stop at period end.
            assert subscription.status in {S.TRIAL, S.ACTIVE, S.SUSPENDED}
        if subscription.scheduled_change is not None:
            assert subscription.status in {S.ACTIVE, S.SUSPENDED}

    @invariant()
    def a_suspension_has_a_reason_and_only_a_suspension(self) -> None:
        suspended = self.subscription.status is S.SUSPENDED
        assert (self.subscription.suspension_reason is not None) == suspended

    @invariant()
    def a_trial_has_its_end_and_the_periods_start_there(self) -> None:
        subscription = self.subscription
        if subscription.status is S.TRIAL:
            assert subscription.trial_ends_on is not None
            assert subscription.period_anchor == subscription.trial_ends_on

    @invariant()
    def the_current_period_contains_today(self) -> None:
        if not self.subscription.is_ended:
            today = self.now.date()
            period = self.subscription.period_on(today)
            assert period.starts_on < period.ends_on
            assert today < period.ends_on

    @invariant()
    def next_due_at_is_exactly_when_advance_has_work(self) -> None:
        # The scheduler finds due subscriptions by this instant alone: early would be wasted
        # work, late a missed cancellation.
        subscription = self.subscription
        due = subscription.next_due_at
        if due is None:
            assert subscription.advance(to=self.now + timedelta(days=3650)) is None
        else:
            assert subscription.advance(to=due - timedelta(microseconds=1)) is None
            assert subscription.advance(to=due) is not None


SubscriptionLifecycle.TestCase.settings = settings(
    max_examples=200, stateful_step_count=30, deadline=None, database=None
)
test_subscription_lifecycle = SubscriptionLifecycle.TestCase
