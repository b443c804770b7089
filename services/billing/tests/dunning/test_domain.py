"""Dunning: what an unpaid invoice needs on a given day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing.dunning.domain import (
    DunningActions,
    DunningPolicy,
    DunningState,
    InvalidDunningPolicy,
    dunning_actions,
)

DUE = date(2026, 1, 10)
POLICY = DunningPolicy(reminder_offsets=(1, 5, 10), grace_days=14)


def on(
    days_after_due: int, state: DunningState | None = None, *, is_open: bool = True
) -> DunningActions:
    return dunning_actions(
        due_on=DUE,
        today=DUE + timedelta(days=days_after_due),
        policy=POLICY,
        state=state or DunningState(),
        is_open=is_open,
    )


def test_nothing_until_the_due_date_has_passed() -> None:
    assert on(0).is_empty
    assert on(-3).is_empty


def test_a_daily_check_marks_once_reminds_at_each_offset_and_asks_to_suspend_once() -> None:
    state = DunningState()
    log: list[tuple[int, bool, int | None, bool]] = []
    for day in range(1, 20):
        actions = on(day, state)
        if not actions.is_empty:
            log.append((day, actions.mark_overdue, actions.reminder, actions.request_suspension))
        state = actions.state
    assert log == [
        (1, True, 1, False),
        (5, False, 5, False),
        (10, False, 10, False),
        (14, False, None, True),
    ]


def test_a_late_check_sends_one_reminder_not_a_burst() -> None:
    actions = on(7)
    assert (actions.mark_overdue, actions.reminder) == (True, 5)
    assert actions.state.reminders_done == {1, 5}
    assert on(8, actions.state).is_empty


def test_a_paid_invoice_needs_nothing() -> None:
    assert on(30, is_open=False).is_empty


@pytest.mark.parametrize(
    ("offsets", "grace"), [((0, 5), 14), ((5, 1), 14), ((1, 1), 14), ((1,), -1), ((400,), 1)]
)
def test_a_policy_out_of_range_is_refused(offsets: tuple[int, ...], grace: int) -> None:
    with pytest.raises(InvalidDunningPolicy):
        DunningPolicy(reminder_offsets=offsets, grace_days=grace)
