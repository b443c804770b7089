"""What a plan costs on a given day, as orders knows it: plain values, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class PlanPrice:
    """A plan's unit price now and, if the catalog announced a change, the next one and from when.

    The same rules as the catalog's own ``Price``: orders re-derives them from events, so the two
    must agree on which price a given day is billed at.
    """

    current: Decimal
    next: Decimal | None = None
    next_on: date | None = None

    def on(self, day: date) -> Decimal:
        """The unit price on ``day``: the scheduled one from its effective date on."""
        if self.next is not None and self.next_on is not None and day >= self.next_on:
            return self.next
        return self.current

    def schedule(self, price: Decimal, effective_on: date, *, announced_on: date) -> PlanPrice:
        """The price after the catalog announced ``price`` from ``effective_on``.

        A change whose day had come when the new one was announced is simply the current price by
        then; one still pending is replaced (customers are told the latest plan).
        """
        return PlanPrice(self.on(announced_on), price, effective_on)
