"""Partner settlements: gross by product, commission per line, payout."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from billing.invoices.domain import Period
from billing.settlements.domain import (
    CommissionRates,
    InvalidCommissionRate,
    Sale,
    settle,
)

D = Decimal
PARTNER, OTHER = uuid.uuid4(), uuid.uuid4()
BOARD, BACKUP = uuid.UUID(int=1), uuid.UUID(int=2)
DECEMBER = Period.month(2025, 12)


def test_a_months_settlement() -> None:
    sales = [
        Sale(PARTNER, BOARD, D("4500.00")),
        Sale(PARTNER, BOARD, D("2322.58")),
        Sale(PARTNER, BACKUP, D("1000.01")),
        Sale(PARTNER, BOARD, D("-145.16")),  # a credit note issued this month
        Sale(OTHER, BOARD, D("99999.00")),  # someone else's sale
    ]
    rates = CommissionRates(default=D("20"), per_product={BACKUP: D("12.5")})

    settlement = settle(PARTNER, DECEMBER, sales, rates)

    assert [
        (line.product_id, line.gross_sales, line.commission, line.payout)
        for line in settlement.lines
    ] == [
        # 6677.42 × 20% = 1335.484 → 1335.48
        (BOARD, D("6677.42"), D("1335.48"), D("5341.94")),
        # 1000.01 × 12.5% = 125.00125 → 125.00
        (BACKUP, D("1000.01"), D("125.00"), D("875.01")),
    ]
    assert settlement.gross_sales == D("7677.43")
    assert settlement.commission == D("1460.48")
    assert settlement.payout == settlement.gross_sales - settlement.commission


def test_commission_rounds_half_up_on_each_line() -> None:
    # 0.10 × 5% = 0.005 → 0.01
    settlement = settle(
        PARTNER, DECEMBER, [Sale(PARTNER, BOARD, D("0.10"))], CommissionRates(D("5"))
    )
    assert settlement.commission == D("0.01")


def test_a_month_without_sales_settles_nothing() -> None:
    settlement = settle(PARTNER, DECEMBER, [], CommissionRates(D("20")))
    assert (settlement.lines, settlement.payout) == ((), D("0.00"))


@pytest.mark.parametrize("rate", ["-1", "100.01", "12.345", "NaN"])
def test_a_rate_is_a_percent(rate: str) -> None:
    with pytest.raises(InvalidCommissionRate):
        CommissionRates(D("20"), per_product={BOARD: D(rate)})
