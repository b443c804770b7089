"""An EDO document's life as plain rules: sent → delivered → signed or rejected.

The operator's docflow events may be read twice (a round that failed before saving its cursor)
or skip a step (a box read after the buyer already signed); a document only moves forward, and
a skipped step is passed through so that every event is still published, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Literal

Status = Literal[
    "awaiting_participant", "pending", "sent", "delivered", "signed", "rejected", "failed"
]
Observed = Literal["delivered", "signed", "rejected"]

FINAL: frozenset[str] = frozenset({"signed", "rejected", "failed"})
UNSENT: frozenset[str] = frozenset({"awaiting_participant", "pending"})
_STEP = {
    "awaiting_participant": 0,
    "pending": 0,
    "sent": 1,
    "delivered": 2,
    "signed": 3,
    "rejected": 3,
    "failed": 3,
}


def transitions(current: str, observed: Observed) -> Sequence[Observed]:
    """The statuses to pass through from ``current`` to ``observed``; empty if nothing new."""
    if current in FINAL or current in UNSENT or _STEP[observed] <= _STEP[current]:
        return ()
    if observed != "delivered" and current == "sent":
        return ("delivered", observed)
    return (observed,)


def next_send_delay(
    rounds: int, *, base: timedelta, cap: timedelta = timedelta(hours=1)
) -> timedelta:
    """How long after its ``rounds``-th failed round a document is tried again: doubling, capped."""
    delay: timedelta = base * (2 ** max(rounds - 1, 0))
    return min(delay, cap)
