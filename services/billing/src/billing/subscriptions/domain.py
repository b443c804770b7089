"""A subscription's service as billing reads it from orders' events. Plain values.

Every ``orders.subscriptions`` event carries the whole subscription as of its ``effective_at``,
and billing records what it says about the days from then on (:func:`record`): service on the
snapshot's plan and quantity while the subscription is ``pending`` or ``active``, no service
while it is in a trial, suspended, cancelled or expired. A scheduled cancellation ends the
service on its day (until a later event withdraws it). What is recorded is plan ids, not prices:
:func:`service_history` turns the entries into the domain's :class:`ServiceHistory` with the
catalog's terms (a scheduled price from its day on) when a document is computed.

**Pending days are service.** The first invoice bills from the start date, and orders provisions
on payment, so the days from the start count as rendered once paid; a subscription that expires
unpaid rendered nothing (its service is erased from the start).

**Periods.** Monthly plans are billed by calendar month (:func:`billing_anchor`), as the
invoices domain recommends: one run at the start of a month renews everything, a first period is
prorated from the start date, and invoices line up with the monthly closing documents. Yearly
plans count their years from orders' period anchor. Trial days are free: service starts no
earlier than orders' anchor (the first day after the trial).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from billing.invoices.domain import BillingPeriod, PlanTerms, ServiceHistory, Terms
from vitrina_contracts.billing_calendar import counting_anchor

SERVING_STATUSES = frozenset({"pending", "active"})
"""Statuses whose days are service (and billed)."""
NEVER_PAID = "expired"


@dataclass(frozen=True)
class Entry:
    """Service from ``day`` on: ``quantity`` units of ``plan_id`` (None: no service)."""

    day: date
    plan_id: UUID | None
    quantity: int = 0
    period_anchor: date | None = None

    def to_json(self) -> list[Any]:
        anchor = self.period_anchor.isoformat() if self.period_anchor else None
        plan = str(self.plan_id) if self.plan_id else None
        return [self.day.isoformat(), plan, self.quantity, anchor]

    @classmethod
    def from_json(cls, value: Sequence[Any]) -> Entry:
        day, plan, quantity, anchor = value
        return cls(
            date.fromisoformat(day),
            UUID(plan) if plan else None,
            int(quantity),
            date.fromisoformat(anchor) if anchor else None,
        )


def _from_day(entries: Sequence[Entry], entry: Entry) -> tuple[Entry, ...]:
    # The same rule as ServiceHistory.from_day: what was planned after the day no longer holds.
    return (*(kept for kept in entries if kept.day < entry.day), entry)


def record(
    entries: Sequence[Entry],
    *,
    status: str,
    effective_on: date,
    plan_id: UUID,
    quantity: int,
    period_anchor: date,
    ends_on: date | None,
) -> tuple[Entry, ...]:
    """``entries`` after an event saying the subscription is ``status`` from ``effective_on``
    (``ends_on``: the day a scheduled cancellation stops the service)."""
    if status == NEVER_PAID:
        first_day = min((entry.day for entry in entries), default=effective_on)
        return (Entry(first_day, None),)
    if status not in SERVING_STATUSES:
        return _from_day(entries, Entry(effective_on, None))
    serving = Entry(max(effective_on, period_anchor), plan_id, quantity, period_anchor)
    if serving.day > effective_on:  # a trial converted early: its remaining days stay free
        entries = _from_day(entries, Entry(effective_on, None))
    entries = _from_day(entries, serving)
    if ends_on is not None and ends_on > serving.day:
        entries = _from_day(entries, Entry(ends_on, None))
    return entries


def billing_anchor(period_anchor: date, billing_period: BillingPeriod) -> date:
    """Where price periods are counted from: the 1st for monthly plans (calendar months),
    orders' anchor for yearly ones."""
    return counting_anchor(period_anchor, billing_period)


@dataclass(frozen=True)
class PlanPricing:
    """A plan as the catalog projection holds it: terms at the current price, and the price
    the catalog scheduled, from its day."""

    terms: PlanTerms
    next_unit_price: Decimal | None = None
    next_price_on: date | None = None

    def terms_on(self, day: date) -> PlanTerms:
        scheduled, from_day = self.next_unit_price, self.next_price_on
        if scheduled is not None and from_day is not None and day >= from_day:
            return replace(self.terms, unit_price=scheduled)
        return self.terms


class UnknownPlan(LookupError):
    """The catalog projection lacks a plan the subscription uses (its product is late)."""


def service_history(entries: Sequence[Entry], plans: Mapping[UUID, PlanPricing]) -> ServiceHistory:
    """The service the entries describe, priced from the catalog; a scheduled price starts a
    new segment on its day.

    Raises:
        UnknownPlan: an entry's plan is not in ``plans``.
    """
    history = ServiceHistory()
    ordered = sorted(entries, key=lambda entry: entry.day)
    for index, entry in enumerate(ordered):
        if entry.plan_id is None or entry.period_anchor is None:
            history = history.from_day(entry.day, None)
            continue
        pricing = plans.get(entry.plan_id)
        if pricing is None:
            raise UnknownPlan(entry.plan_id)
        anchor = billing_anchor(entry.period_anchor, pricing.terms.billing_period)
        history = history.from_day(
            entry.day, Terms(pricing.terms_on(entry.day), entry.quantity, anchor)
        )
        next_day = ordered[index + 1].day if index + 1 < len(ordered) else None
        price_on = pricing.next_price_on
        if (
            price_on is not None
            and entry.day < price_on
            and (next_day is None or price_on < next_day)
        ):
            history = history.from_day(
                price_on, Terms(pricing.terms_on(price_on), entry.quantity, anchor)
            )
    return history


def first_service_day(entries: Sequence[Entry]) -> date | None:
    """The first day with service planned, if any."""
    return min((entry.day for entry in entries if entry.plan_id is not None), default=None)


def service_bounds(entries: Sequence[Entry]) -> tuple[date | None, date | None]:
    """The first day of service, and the day it ends (None: no end planned); (None, None)
    when the entries plan no service at all."""
    ordered = sorted(entries, key=lambda entry: entry.day)
    starts_on = first_service_day(ordered)
    if starts_on is None:
        return None, None
    last = ordered[-1]
    return starts_on, last.day if last.plan_id is None else None
