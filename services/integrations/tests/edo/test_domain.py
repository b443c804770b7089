"""An EDO document's life as plain rules: forward only, skipped steps passed through."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integrations.edo.domain import next_send_delay, transitions


@pytest.mark.parametrize(
    ("current", "observed", "expected"),
    [
        ("sent", "delivered", ("delivered",)),
        ("delivered", "signed", ("signed",)),
        ("delivered", "rejected", ("rejected",)),
        # The box was read after the buyer already answered: delivered is published first.
        ("sent", "signed", ("delivered", "signed")),
        ("sent", "rejected", ("delivered", "rejected")),
        # Read twice, or late: nothing new.
        ("delivered", "delivered", ()),
        ("signed", "delivered", ()),
        ("signed", "rejected", ()),
        ("rejected", "signed", ()),
        ("failed", "delivered", ()),
        # Not accepted by the operator yet: its events cannot be about this document.
        ("pending", "delivered", ()),
    ],
)
def test_transitions(current: str, observed: str, expected: tuple[str, ...]) -> None:
    assert tuple(transitions(current, observed)) == expected  # type: ignore[arg-type]


def test_send_rounds_back_off_exponentially_up_to_an_hour() -> None:
    base = timedelta(seconds=5)
    assert [next_send_delay(n, base=base).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert next_send_delay(30, base=base) == timedelta(hours=1)
