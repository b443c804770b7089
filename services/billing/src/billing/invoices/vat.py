"""VAT (НДС) as the UPD computes it: the rate of the supply date, per line, rounded half up.

Catalog prices are without VAT, so every line starts from its net amount: VAT is
``round(net × rate / 100)`` on that line alone, and a document's VAT is the sum of its lines'
(never VAT on the document's net total, which can differ by kopecks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from billing.money import ZERO, to_kopecks


class VatMode(StrEnum):
    STANDARD = "standard"
    """VAT at the standard rate of the supply date."""
    EXEMPT = "exempt"
    """«Без НДС»: the line has no VAT rate and no VAT."""


STANDARD_RATES: tuple[tuple[date, int], ...] = (
    (date.min, 20),
    (date(2026, 1, 1), 22),
)
"""The standard rate (percent) from each date on, oldest first: 20% for supplies through
2025-12-31, 22% from 2026-01-01. A future change is one more row."""

EXEMPT_LABEL = "без НДС"
"""What a document prints in the rate column of an exempt line."""


def vat_rate_on(day: date, mode: VatMode) -> int | None:
    """The VAT percent for a supply on ``day``; None for an exempt line.

    The supply date decides, not the document's date: an invoice issued in December 2025 for
    January 2026 carries 22%.
    """
    if mode is VatMode.EXEMPT:
        return None
    rate = STANDARD_RATES[0][1]
    for effective_on, scheduled in STANDARD_RATES:
        if day >= effective_on:
            rate = scheduled
    return rate


def rate_changes_within(starts_on: date, ends_on: date) -> tuple[date, ...]:
    """The days in ``(starts_on, ends_on)`` on which the standard rate changes: where a line
    for the days ``[starts_on, ends_on)`` must be split so each part carries one rate."""
    return tuple(
        effective_on for effective_on, _ in STANDARD_RATES if starts_on < effective_on < ends_on
    )


def rate_label(rate: int | None) -> str:
    """The rate as a document prints it: ``22%`` or ``без НДС``."""
    return EXEMPT_LABEL if rate is None else f"{rate}%"


@dataclass(frozen=True)
class LineAmounts:
    """One line's money: ``total = net + vat``, each in kopecks."""

    net: Decimal
    vat_rate: int | None
    vat: Decimal
    total: Decimal

    @classmethod
    def from_net(cls, net: Decimal, vat_rate: int | None) -> LineAmounts:
        """VAT on top of a net amount (catalog prices are net), rounded half up on the line."""
        net = to_kopecks(net)
        vat = ZERO if vat_rate is None else to_kopecks(net * vat_rate / 100)
        return cls(net=net, vat_rate=vat_rate, vat=vat, total=net + vat)
