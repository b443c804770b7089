"""The billing calendar orders and billing share: where a subscription's periods begin and end.

Both services must agree to the day (orders ends a service "at period end", billing invoices and
closes that very period), so the rule lives here once. Monthly plans run by calendar month (the
first period from the start day to the month's end); yearly plans count from the subscription's
period anchor (``SubscriptionSnapshot.period_anchor``).
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Literal

BillingPeriod = Literal["month", "year"]

MONTHS_IN: dict[str, int] = {"month": 1, "year": 12}


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months``, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def counting_anchor(period_anchor: date, billing_period: str) -> date:
    """The day periods are counted from: the 1st for monthly plans, the anchor for yearly."""
    return period_anchor.replace(day=1) if billing_period == "month" else period_anchor


def period_bounds(anchor: date, billing_period: str, day: date) -> tuple[date, date]:
    """``[starts_on, ends_on)`` of the period counted from ``anchor`` that contains ``day`` (in
    either direction). Boundaries are computed from the anchor, not from each other, so an
    anchor on the 31st returns to the 31st after a short month."""
    step = MONTHS_IN[billing_period]
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    n = months // step
    # The month arithmetic lands on the right period or the one after it (a clamped boundary
    # can fall after ``day``); one step back settles it.
    if add_months(anchor, n * step) > day:
        n -= 1
    return add_months(anchor, n * step), add_months(anchor, (n + 1) * step)
