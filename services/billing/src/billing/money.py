"""Roubles and kopecks: the one rounding rule every billing amount follows.

Amounts are ``Decimal`` quantized to kopecks with ROUND_HALF_UP (the rule of Russian accounting
and of the UPD), never ``float``. Rounding happens once per document line; totals are sums of
rounded lines, so a document always adds up the way the tax authority adds it up.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from vitrina_kit.problems import UnprocessableEntity

KOPECK = Decimal("0.01")
ZERO = Decimal("0.00")
MONEY_LIMIT = Decimal("1e17")
"""Amounts stay below this: NUMERIC(19,2) and the contracts' Money hold 17 digits of roubles."""


def to_kopecks(amount: Decimal) -> Decimal:
    """``amount`` rounded to kopecks, half up (0.005 → 0.01, -0.005 → -0.01)."""
    return amount.quantize(KOPECK, rounding=ROUND_HALF_UP)


class InvalidAmount(UnprocessableEntity):
    code = "invalid_amount"
    title = "The amount must be a positive number of kopecks"

    def __init__(self, amount: Decimal) -> None:
        super().__init__(
            f"{amount} is not a positive amount in roubles with at most two decimals.",
            amount=str(amount),
        )


def check_positive_kopecks(amount: Decimal) -> Decimal:
    """Refuse a zero, negative, non-finite or sub-kopeck amount; return it as kopecks.

    Inputs are refused rather than rounded: a person typed them, and 100.005 is a typo to
    report, not a number to guess.
    """
    if not amount.is_finite() or not 0 < amount < MONEY_LIMIT:
        raise InvalidAmount(amount)
    if amount != amount.quantize(KOPECK):
        raise InvalidAmount(amount)
    return amount.quantize(KOPECK)
