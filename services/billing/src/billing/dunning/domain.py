"""Dunning: what is due for an unpaid invoice on a given day. Plain values, the day passed in.

An invoice is due on its ``due_on`` (the last day to pay) and overdue from the next day. The
scheduled check asks :func:`dunning_actions` for each open invoice and does what it answers:

* mark the invoice overdue (``invoice.overdue``), once;
* send the reminder for the latest offset reached (days after the due date, e.g. 1, 5, 10);
  a check that missed days sends one reminder, not a burst, and skips the ones it passed;
* once the grace period is over (from the day ``grace_days`` after the due date: the same
  day orders' own grace ends, so the two services agree on the date), ask for suspension
  once; orders suspends an active subscription (or expires a pending one).

A paid or voided invoice needs nothing; a payment stops dunning, and orders resumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from vitrina_kit.problems import UnprocessableEntity

MAX_DUNNING_DAYS = 365


class InvalidDunningPolicy(UnprocessableEntity):
    code = "invalid_dunning_policy"
    title = "Reminder offsets and grace period out of range"

    def __init__(self, why: str) -> None:
        super().__init__(why)


@dataclass(frozen=True)
class DunningPolicy:
    """Operator-configurable: reminder offsets and the grace period, in days after due."""

    reminder_offsets: tuple[int, ...] = (1, 5, 10)
    grace_days: int = 14

    def __post_init__(self) -> None:
        offsets = self.reminder_offsets
        if any(not 1 <= d <= MAX_DUNNING_DAYS for d in offsets):
            raise InvalidDunningPolicy(f"Reminder offsets must be 1..{MAX_DUNNING_DAYS} days.")
        if list(offsets) != sorted(set(offsets)):
            raise InvalidDunningPolicy("Reminder offsets must be increasing, each once.")
        if not 0 <= self.grace_days <= MAX_DUNNING_DAYS:
            raise InvalidDunningPolicy(f"The grace period must be 0..{MAX_DUNNING_DAYS} days.")


@dataclass(frozen=True)
class DunningState:
    """What was already done for one invoice (stored with it)."""

    marked_overdue: bool = False
    reminders_done: frozenset[int] = field(default_factory=frozenset)
    """Offsets sent or skipped by a late check: never sent again."""
    suspension_requested: bool = False


@dataclass(frozen=True)
class DunningActions:
    mark_overdue: bool = False
    reminder: int | None = None
    """The offset whose reminder to send now, if any."""
    request_suspension: bool = False
    state: DunningState = DunningState()
    """The state after doing all of the above: store it with the actions' outbox rows."""

    @property
    def is_empty(self) -> bool:
        return not (self.mark_overdue or self.reminder is not None or self.request_suspension)


def days_overdue(due_on: date, today: date) -> int:
    """0 on or before the due date, 1 on the day after it, and so on."""
    return max((today - due_on).days, 0)


def dunning_actions(
    *, due_on: date, today: date, policy: DunningPolicy, state: DunningState, is_open: bool
) -> DunningActions:
    """What to do today for an invoice due on ``due_on`` (``is_open``: not paid or voided)."""
    overdue = days_overdue(due_on, today)
    if not is_open or overdue == 0:
        return DunningActions(state=state)
    reached = frozenset(d for d in policy.reminder_offsets if d <= overdue)
    pending = reached - state.reminders_done
    suspend = overdue >= policy.grace_days and not state.suspension_requested
    return DunningActions(
        mark_overdue=not state.marked_overdue,
        reminder=max(pending) if pending else None,
        request_suspension=suspend,
        state=replace(
            state,
            marked_overdue=True,
            reminders_done=state.reminders_done | reached,
            suspension_requested=state.suspension_requested or suspend,
        ),
    )
