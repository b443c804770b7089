"""Proration and VAT, one row per case a billing period can bring: month lengths of 28 to 31
days, a leap February, a change on a period's last day, the 2025→2026 VAT switch inside one
period, exempt lines, and half-kopeck rounding."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from billing.invoices.domain import (
    BillingPeriod,
    Period,
    PlanTerms,
    ServiceSegment,
    Totals,
    first_period,
    lines_for,
    prorate,
)
from billing.invoices.vat import LineAmounts, VatMode, vat_rate_on

D = Decimal
MONTH, YEAR = BillingPeriod.MONTH, BillingPeriod.YEAR


def plan(
    price: str = "450.00",
    *,
    period: BillingPeriod = MONTH,
    vat: VatMode = VatMode.STANDARD,
) -> PlanTerms:
    return PlanTerms(
        plan_id=uuid.uuid4(),
        product_id=uuid.uuid4(),
        service_name="Проектная доска, тариф «Стандарт», место",
        billing_period=period,
        unit_price=D(price),
        vat_mode=vat,
    )


@dataclass(frozen=True)
class Case:
    """Segments ``(first day, first day after, quantity)`` of one plan, billed for ``window``;
    expected lines ``(first day, last day, unit price, net, VAT rate, VAT)``."""

    id: str
    plan: PlanTerms
    anchor: date
    segments: tuple[tuple[date, date, int], ...]
    window: Period
    lines: tuple[tuple[date, date, str, str, int | None, str], ...]


d = date
CASES = [
    Case(
        "31-day month, whole, 2025 rate",
        plan(),
        d(2025, 12, 1),
        ((d(2025, 12, 1), d(2026, 1, 1), 10),),
        Period.month(2025, 12),
        ((d(2025, 12, 1), d(2025, 12, 31), "450.00", "4500.00", 20, "900.00"),),
    ),
    Case(
        "28-day February, whole, 2026 rate",
        plan(),
        d(2026, 1, 1),
        ((d(2026, 2, 1), d(2026, 3, 1), 10),),
        Period.month(2026, 2),
        ((d(2026, 2, 1), d(2026, 2, 28), "450.00", "4500.00", 22, "990.00"),),
    ),
    Case(
        "28-day February from the 15th: 14 of 28 days",
        plan(),
        d(2026, 1, 1),
        ((d(2026, 2, 15), d(2026, 3, 1), 10),),
        Period.month(2026, 2),
        ((d(2026, 2, 15), d(2026, 2, 28), "225.00", "2250.00", 22, "495.00"),),
    ),
    Case(
        "leap February 2028 from the 15th: 15 of 29 days",
        plan(),
        d(2028, 1, 1),
        ((d(2028, 2, 15), d(2028, 3, 1), 10),),
        Period.month(2028, 2),
        # 4500 × 15/29 = 2327.586… → 2327.59; × 22% = 512.0698 → 512.07
        ((d(2028, 2, 15), d(2028, 2, 29), "232.76", "2327.59", 22, "512.07"),),
    ),
    Case(
        "30-day April from the 11th: 20 of 30 days",
        plan(),
        d(2026, 1, 1),
        ((d(2026, 4, 11), d(2026, 5, 1), 10),),
        Period.month(2026, 4),
        ((d(2026, 4, 11), d(2026, 4, 30), "300.00", "3000.00", 22, "660.00"),),
    ),
    Case(
        "31-day month, only its last day",
        plan(),
        d(2026, 1, 1),
        ((d(2026, 1, 31), d(2026, 2, 1), 10),),
        Period.month(2026, 1),
        # 4500 / 31 = 145.1612… → 145.16; × 22% = 31.9352 → 31.94
        ((d(2026, 1, 31), d(2026, 1, 31), "14.52", "145.16", 22, "31.94"),),
    ),
    Case(
        "a change on the period's last day: 30 days of 10 seats, 1 day of 15",
        plan(),
        d(2025, 12, 1),
        ((d(2025, 12, 1), d(2025, 12, 31), 10), (d(2025, 12, 31), d(2026, 1, 1), 15)),
        Period.month(2025, 12),
        (
            # 4500 × 30/31 = 4354.8387 → 4354.84; × 20% = 870.968 → 870.97
            (d(2025, 12, 1), d(2025, 12, 30), "435.48", "4354.84", 20, "870.97"),
            # 6750 − r(6750 × 30/31) = 6750 − 6532.26; × 20% = 43.548 → 43.55
            (d(2025, 12, 31), d(2025, 12, 31), "14.52", "217.74", 20, "43.55"),
        ),
    ),
    Case(
        "the VAT switch inside one period: split in two lines that add up to the whole",
        plan(),
        d(2025, 12, 15),
        ((d(2025, 12, 15), d(2026, 1, 15), 10),),
        Period(d(2025, 12, 15), d(2026, 1, 15)),
        (
            # 4500 × 17/31 = 2467.7419 → 2467.74 at 20% (493.548 → 493.55)
            (d(2025, 12, 15), d(2025, 12, 31), "246.77", "2467.74", 20, "493.55"),
            # the rest of the 4500.00, at 22% (447.0972 → 447.10)
            (d(2026, 1, 1), d(2026, 1, 14), "203.23", "2032.26", 22, "447.10"),
        ),
    ),
    Case(
        "an exempt line across the VAT switch: not split, no VAT",
        plan(vat=VatMode.EXEMPT),
        d(2025, 12, 15),
        ((d(2025, 12, 15), d(2026, 1, 15), 10),),
        Period(d(2025, 12, 15), d(2026, 1, 15)),
        ((d(2025, 12, 15), d(2026, 1, 14), "450.00", "4500.00", None, "0.00"),),
    ),
    Case(
        "VAT of half a kopeck rounds up: 0.75 × 22% = 0.165 → 0.17",
        plan("0.75"),
        d(2026, 1, 1),
        ((d(2026, 3, 1), d(2026, 4, 1), 1),),
        Period.month(2026, 3),
        ((d(2026, 3, 1), d(2026, 3, 31), "0.75", "0.75", 22, "0.17"),),
    ),
    Case(
        "proration of half a kopeck rounds up: 100.01 × 15/30 = 50.005 → 50.01",
        plan("100.01", vat=VatMode.EXEMPT),
        d(2026, 1, 1),
        ((d(2026, 6, 1), d(2026, 6, 16), 1),),
        Period.month(2026, 6),
        ((d(2026, 6, 1), d(2026, 6, 15), "50.01", "50.01", None, "0.00"),),
    ),
    Case(
        "a yearly plan's December: 31 of 365 days",
        plan("8400.00", period=YEAR),
        d(2025, 12, 1),
        ((d(2025, 12, 1), d(2026, 12, 1), 1),),
        Period.month(2025, 12),
        # 8400 × 31/365 = 713.4246 → 713.42; × 20% = 142.684 → 142.68
        ((d(2025, 12, 1), d(2025, 12, 31), "713.42", "713.42", 20, "142.68"),),
    ),
    Case(
        "a suspension leaves a gap: 1–9 and 20–31 January",
        plan(),
        d(2026, 1, 1),
        ((d(2026, 1, 1), d(2026, 1, 10), 10), (d(2026, 1, 20), d(2026, 2, 1), 10)),
        Period.month(2026, 1),
        (
            # r(4500 × 9/31) = r(1306.4516) = 1306.45; × 22% = 287.419 → 287.42
            (d(2026, 1, 1), d(2026, 1, 9), "130.65", "1306.45", 22, "287.42"),
            # 4500 − r(4500 × 19/31) = 4500 − 2758.06 = 1741.94; × 22% = 383.2268 → 383.23
            (d(2026, 1, 20), d(2026, 1, 31), "174.19", "1741.94", 22, "383.23"),
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_lines_prorate_by_days_and_carry_the_supply_dates_vat(case: Case) -> None:
    subscription_id = uuid.uuid4()
    segments = [
        ServiceSegment(start, end, case.plan, quantity, case.anchor)
        for start, end, quantity in case.segments
    ]

    lines = lines_for(subscription_id, segments, case.window)

    got = [
        (
            line.days.starts_on,
            line.days.last_day,
            str(line.unit_price),
            str(line.amount_net),
            line.vat_rate,
            str(line.vat_amount),
        )
        for line in lines
    ]
    assert got == list(case.lines)
    for line in lines:
        assert line.amount_total == line.amount_net + line.vat_amount
        assert line.subscription_id == subscription_id
    totals = Totals.of(lines)
    assert totals.net == sum((line.amount_net for line in lines), D(0))
    assert totals.total == totals.net + totals.vat


@pytest.mark.parametrize(
    ("amount", "days_used", "days_in_period", "expected"),
    [
        ("4500.00", 31, 31, "4500.00"),
        ("4500.00", 16, 31, "2322.58"),
        ("4500.00", 14, 28, "2250.00"),
        ("4500.00", 15, 29, "2327.59"),
        ("4500.00", 20, 30, "3000.00"),
        ("4500.00", 0, 30, "0.00"),
        ("100.01", 15, 30, "50.01"),  # 50.005: half up, not half even
        ("0.01", 15, 30, "0.01"),
        ("0.01", 14, 30, "0.00"),
    ],
)
def test_prorate(amount: str, days_used: int, days_in_period: int, expected: str) -> None:
    assert prorate(D(amount), days_used, days_in_period) == D(expected)


@pytest.mark.parametrize(("used", "days"), [(-1, 30), (31, 30), (1, 0)])
def test_prorate_refuses_impossible_days(used: int, days: int) -> None:
    with pytest.raises(ValueError, match="days"):
        prorate(D("1.00"), used, days)


@pytest.mark.parametrize(
    ("day", "mode", "rate"),
    [
        (d(2025, 12, 31), VatMode.STANDARD, 20),
        (d(2026, 1, 1), VatMode.STANDARD, 22),
        (d(2019, 1, 1), VatMode.STANDARD, 20),
        (d(2030, 6, 1), VatMode.STANDARD, 22),
        (d(2026, 1, 1), VatMode.EXEMPT, None),
    ],
)
def test_the_rate_is_the_supply_dates(day: date, mode: VatMode, rate: int | None) -> None:
    assert vat_rate_on(day, mode) == rate


@pytest.mark.parametrize(
    ("net", "rate", "vat", "total"),
    [
        ("4500.00", 20, "900.00", "5400.00"),
        ("4500.00", 22, "990.00", "5490.00"),
        ("0.75", 22, "0.17", "0.92"),
        ("0.25", 22, "0.06", "0.31"),
        ("4500.00", None, "0.00", "4500.00"),
    ],
)
def test_vat_on_a_net_amount(net: str, rate: int | None, vat: str, total: str) -> None:
    amounts = LineAmounts.from_net(D(net), rate)
    assert (amounts.vat, amounts.total) == (D(vat), D(total))


def test_a_first_period_runs_from_the_start_to_the_end_of_its_month() -> None:
    assert first_period(d(2025, 12, 16), d(2025, 12, 1), MONTH) == Period(
        d(2025, 12, 16), d(2026, 1, 1)
    )
    # Started on the anchor: a whole period, nothing to prorate.
    assert first_period(d(2026, 1, 31), d(2026, 1, 31), MONTH) == Period(
        d(2026, 1, 31), d(2026, 2, 28)
    )
