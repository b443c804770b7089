"""What billing charges for a subscription, as plain values: no I/O and no clock of its own.

**Days.** Every range of days is half-open, ``[starts_on, ends_on)``: ``ends_on`` is the first day
*not* included (documents print the inclusive last day, :attr:`Period.last_day`). A subscription's
service is a list of :class:`ServiceSegment`: days on constant terms (plan, price, quantity).
Suspended days are simply not in any segment; a cancellation ends the last one.

**Price periods.** A plan's unit price covers one period (a month or a year) counted from the
segment's ``anchor`` (:func:`billing_period_on`). With an anchor on the 1st, monthly periods are
calendar months, so one month-end run closes every subscription and a first period is prorated
from the start date; with the subscription's own anchor, periods run from that day.

**Proration.** A line for some days of a price period costs its share of the period's amount
(unit price × quantity), by days, rounded half up to kopecks on the line. The share is
*cumulative*: the days ``[a, b)`` of a period of ``D`` days cost ``r(A·b/D) − r(A·a/D)``, where
``a`` and ``b`` are the days' offsets from the period's start and ``r`` rounds. From the period's
start (first periods, renewals, a closing document's first segment) this is exactly
``r(A·days/D)``; elsewhere it can differ from it by a kopeck, and it buys the property that makes
changes safe: amounts of adjacent days add up exactly. An invoice minus the credit for the unused
days equals the price of the used days to the kopeck, and a line split in two costs what it cost
whole — no kopeck is billed twice or lost.

**The VAT switch.** The rate is that of the supply date (:mod:`billing.invoices.vat`), so a line
whose days straddle 2026-01-01 is split in two lines, one per rate (20% through 31 December, 22%
from 1 January). Both halves are shares of the same period's amount, so together they cost the
unsplit net amount; each gets its own VAT, rounded on its line, as the UPD requires.

**Changes.** A mid-period change or an immediate cancellation is repriced over the days from its
effective day to the period's end: the terms billed for those days are credited and the new terms
charged (:func:`reprice`). Days before the effective day are untouched, so no day is billed twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from uuid import UUID

from billing.invoices.vat import LineAmounts, VatMode, rate_changes_within, vat_rate_on
from billing.money import KOPECK, ZERO, check_positive_kopecks, to_kopecks
from vitrina_contracts.billing_calendar import add_months, period_bounds
from vitrina_kit.problems import InvalidStateTransition, UnprocessableEntity

# Periods ------------------------------------------------------------------------------------


class BillingPeriod(StrEnum):
    MONTH = "month"
    YEAR = "year"


MONTHS_IN = {BillingPeriod.MONTH: 1, BillingPeriod.YEAR: 12}


@dataclass(frozen=True, order=True)
class Period:
    """The days ``[starts_on, ends_on)``; never empty."""

    starts_on: date
    ends_on: date

    def __post_init__(self) -> None:
        if self.ends_on <= self.starts_on:
            raise ValueError(f"empty period [{self.starts_on}, {self.ends_on})")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """The calendar month: what a month-end run closes."""
        return cls(date(year, month, 1), add_months(date(year, month, 1), 1))

    @classmethod
    def month_of(cls, day: date) -> Period:
        return cls.month(day.year, day.month)

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days

    @property
    def last_day(self) -> date:
        """The last day included: what documents print as the period's end."""
        return self.ends_on - timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.starts_on <= day < self.ends_on

    def overlap(self, other: Period) -> Period | None:
        starts_on, ends_on = max(self.starts_on, other.starts_on), min(self.ends_on, other.ends_on)
        return Period(starts_on, ends_on) if starts_on < ends_on else None

    def split_at(self, days: Iterable[date]) -> tuple[Period, ...]:
        """This period cut before each of ``days`` that falls strictly inside it."""
        cuts = sorted({day for day in days if self.starts_on < day < self.ends_on})
        bounds = [self.starts_on, *cuts, self.ends_on]
        return tuple(Period(a, b) for a, b in pairwise(bounds))


def billing_period_on(anchor: date, billing_period: BillingPeriod, day: date) -> Period:
    """The price period that contains ``day``, counting periods from ``anchor`` (in either
    direction), by the calendar orders shares (``vitrina_contracts.billing_calendar``)."""
    return Period(*period_bounds(anchor, billing_period, day))


def first_period(starts_on: date, anchor: date, billing_period: BillingPeriod) -> Period:
    """What the first invoice covers: from the start date to the end of its price period
    (the whole period when the subscription starts on the anchor)."""
    return Period(starts_on, billing_period_on(anchor, billing_period, starts_on).ends_on)


def next_period(period: Period, anchor: date, billing_period: BillingPeriod) -> Period:
    """The period a renewal invoice covers: the one after ``period``."""
    return billing_period_on(anchor, billing_period, period.ends_on)


# Terms and service --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanTerms:
    """What a line needs of a plan, from the catalog projection on the days billed."""

    plan_id: UUID
    product_id: UUID
    service_name: str
    """As printed: «Проектная доска, тариф «Стандарт», место»."""
    billing_period: BillingPeriod
    unit_price: Decimal
    """One unit for one whole period, without VAT (catalog prices are net)."""
    vat_mode: VatMode = VatMode.STANDARD
    okei_code: str = "796"
    """The unit's code (ОКЕИ); 796 is «шт»."""

    def __post_init__(self) -> None:
        if self.unit_price < 0 or self.unit_price != self.unit_price.quantize(KOPECK):
            raise ValueError(f"unit price {self.unit_price} is not a kopeck amount")


@dataclass(frozen=True)
class ServiceSegment:
    """Days ``[starts_on, ends_on)`` of service on constant terms."""

    starts_on: date
    ends_on: date
    plan: PlanTerms
    quantity: int
    anchor: date
    """The day the plan's price periods are counted from."""

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError("a segment bills at least one unit")
        Period(self.starts_on, self.ends_on)  # refuses an empty or inverted segment

    @property
    def days(self) -> Period:
        return Period(self.starts_on, self.ends_on)


@dataclass(frozen=True)
class Terms:
    """The terms a subscription runs on from some day on."""

    plan: PlanTerms
    quantity: int
    anchor: date


@dataclass(frozen=True)
class ServiceHistory:
    """A subscription's service as a timeline of "from this day on" entries.

    Each event of the subscription says what holds from its effective day on, as far as anyone
    knows now, so :meth:`from_day` drops what was planned after that day: a reactivation
    removes the scheduled end, a new change replaces a scheduled one.
    """

    entries: tuple[tuple[date, Terms | None], ...] = ()
    """``(day, terms)`` sorted by day; ``None`` terms: no service (suspended or ended)."""

    def from_day(self, day: date, terms: Terms | None) -> ServiceHistory:
        """Service on ``terms`` from ``day`` on (``None``: suspended, cancelled, expired)."""
        kept = tuple(entry for entry in self.entries if entry[0] < day)
        return ServiceHistory((*kept, (day, terms)))

    def segments(self, within: Period) -> tuple[ServiceSegment, ...]:
        """The service rendered (or planned) on the days of ``within``, oldest first."""
        segments: list[ServiceSegment] = []
        ends = [day for day, _ in self.entries[1:]] + [within.ends_on]
        for (starts_on, terms), ends_on in zip(self.entries, ends, strict=True):
            if terms is None or starts_on >= ends_on:
                continue
            days = Period(starts_on, ends_on).overlap(within)
            if days is not None:
                segments.append(
                    ServiceSegment(
                        days.starts_on, days.ends_on, terms.plan, terms.quantity, terms.anchor
                    )
                )
        return _merged(segments)


def _merged(segments: Sequence[ServiceSegment]) -> tuple[ServiceSegment, ...]:
    # A suspension lifted on the day it began, or a change withdrawn, leaves two adjacent
    # segments on the same terms: one line reads better than two.
    merged: list[ServiceSegment] = []
    for segment in segments:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.ends_on == segment.starts_on
            and (last.plan, last.quantity, last.anchor)
            == (segment.plan, segment.quantity, segment.anchor)
        ):
            merged[-1] = replace(last, ends_on=segment.ends_on)
        else:
            merged.append(segment)
    return tuple(merged)


# Money for days -----------------------------------------------------------------------------


def _share(kopecks: int, part: int, whole: int) -> int:
    """``kopecks × part / whole`` rounded half up (away from zero), in exact integers."""
    sign = -1 if kopecks < 0 else 1
    return sign * ((2 * abs(kopecks) * part + whole) // (2 * whole))


def _kopecks(amount: Decimal) -> int:
    return int(amount.quantize(KOPECK) * 100)


def prorate(amount: Decimal, days_used: int, days_in_period: int) -> Decimal:
    """A period's ``amount`` for ``days_used`` of its ``days_in_period``, rounded half up."""
    if not 0 <= days_used <= days_in_period or days_in_period < 1:
        raise ValueError(f"{days_used} days of a {days_in_period}-day period")
    return Decimal(_share(_kopecks(amount), days_used, days_in_period)) / 100


def amount_for_days(period_amount: Decimal, price_period: Period, days: Period) -> Decimal:
    """The cumulative share of ``period_amount`` for ``days`` of ``price_period`` (see the
    module's docstring): ``r(A·b/D) − r(A·a/D)``, additive over adjacent days."""
    if days.overlap(price_period) != days:
        raise ValueError(f"{days} is not within the price period {price_period}")
    kopecks, whole = _kopecks(period_amount), price_period.days
    start = (days.starts_on - price_period.starts_on).days
    end = (days.ends_on - price_period.starts_on).days
    return Decimal(_share(kopecks, end, whole) - _share(kopecks, start, whole)) / 100


@dataclass(frozen=True)
class Line:
    """A document line: some units of a plan for some days, with VAT on the line."""

    subscription_id: UUID
    plan: PlanTerms
    quantity: int
    days: Period
    """The days billed, within one price period and at one VAT rate."""
    price_period: Period
    """The period whose price the line prorates."""
    unit_price: Decimal
    """One unit for the days billed, without VAT: the plan's price prorated and rounded. The
    line's amount is rounded once for the line, so it may differ from ``unit_price ×
    quantity`` by under half a kopeck per unit."""
    amounts: LineAmounts

    @property
    def is_prorated(self) -> bool:
        return self.days != self.price_period

    @property
    def description(self) -> str:
        """The service as printed, with the days when the line is not a whole period."""
        text = (
            f"{self.plan.service_name}, "
            f"{self.days.starts_on:%d.%m.%Y}–{self.days.last_day:%d.%m.%Y}"
        )
        if self.is_prorated:
            text += f" ({self.days.days} из {self.price_period.days} дн.)"
        return text

    @property
    def amount_net(self) -> Decimal:
        return self.amounts.net

    @property
    def vat_rate(self) -> int | None:
        return self.amounts.vat_rate

    @property
    def vat_amount(self) -> Decimal:
        return self.amounts.vat

    @property
    def amount_total(self) -> Decimal:
        return self.amounts.total


@dataclass(frozen=True)
class Totals:
    """A document's totals: the sums of its lines (never recomputed from the net total)."""

    net: Decimal = ZERO
    vat: Decimal = ZERO
    total: Decimal = ZERO

    @classmethod
    def of(cls, lines: Iterable[Line]) -> Totals:
        totals = cls()
        for line in lines:
            totals = cls(
                totals.net + line.amount_net,
                totals.vat + line.vat_amount,
                totals.total + line.amount_total,
            )
        return totals


def lines_for(
    subscription_id: UUID, segments: Sequence[ServiceSegment], within: Period
) -> tuple[Line, ...]:
    """The lines billing ``segments`` on the days of ``within``: one per segment, price period
    and VAT rate, oldest first.

    An invoice passes the terms planned for the period it covers; a closing document the
    history rendered in the month (:meth:`ServiceHistory.segments`).

    Raises:
        ValueError: two segments share a day (a history that would bill a day twice).
    """
    ordered = sorted(segments, key=lambda segment: segment.starts_on)
    for earlier, later in pairwise(ordered):
        if later.starts_on < earlier.ends_on:
            raise ValueError(f"segments overlap on {later.starts_on}")
    lines: list[Line] = []
    for segment in ordered:
        billed = segment.days.overlap(within)
        if billed is None:
            continue
        plan = segment.plan
        day = billed.starts_on
        while day < billed.ends_on:
            price_period = billing_period_on(segment.anchor, plan.billing_period, day)
            piece = billed.overlap(price_period)
            assert piece is not None  # the period contains ``day``, which is in ``billed``
            cuts = rate_changes_within(piece.starts_on, piece.ends_on)
            if plan.vat_mode is VatMode.EXEMPT:
                cuts = ()  # no rate, nothing to split
            for days in piece.split_at(cuts):
                lines.append(_line(subscription_id, segment, price_period, days))
            day = piece.ends_on
    return tuple(lines)


def _line(
    subscription_id: UUID, segment: ServiceSegment, price_period: Period, days: Period
) -> Line:
    plan = segment.plan
    net = amount_for_days(plan.unit_price * segment.quantity, price_period, days)
    unit_price = (
        plan.unit_price
        if days == price_period
        else to_kopecks(plan.unit_price * days.days / price_period.days)
    )
    return Line(
        subscription_id=subscription_id,
        plan=plan,
        quantity=segment.quantity,
        days=days,
        price_period=price_period,
        unit_price=unit_price,
        amounts=LineAmounts.from_net(net, vat_rate_on(days.starts_on, plan.vat_mode)),
    )


def invoice_lines(subscription_id: UUID, terms: Terms, period: Period) -> tuple[Line, ...]:
    """An invoice for payment for ``period`` on ``terms`` (first: :func:`first_period`;
    renewals: :func:`next_period`)."""
    segment = ServiceSegment(
        period.starts_on, period.ends_on, terms.plan, terms.quantity, terms.anchor
    )
    return lines_for(subscription_id, (segment,), period)


# Changes: credits and charges ---------------------------------------------------------------


@dataclass(frozen=True)
class Adjustment:
    """What a change does to a period already billed: credits for the terms billed on the
    changed days (positive amounts, as a credit note prints them) and charges for the new."""

    credits: tuple[Line, ...] = ()
    charges: tuple[Line, ...] = ()

    @property
    def balance_effect(self) -> Decimal:
        """What the customer owes more (positive) or gets back (negative), with VAT."""
        return Totals.of(self.charges).total - Totals.of(self.credits).total

    @property
    def is_empty(self) -> bool:
        return not self.credits and not self.charges


def reprice(
    subscription_id: UUID,
    *,
    billed: Sequence[ServiceSegment],
    revised: Sequence[ServiceSegment],
    period: Period,
    effective_on: date,
) -> Adjustment:
    """Credit what ``billed`` charged and charge what ``revised`` says, on the days of
    ``period`` from ``effective_on`` on; the days before it stay as billed.

    ``billed`` is what the period's documents charge so far (the invoice's terms, and every
    earlier adjustment's revised terms); after this, ``revised`` is. A change effective on or
    after the period's end changes nothing in it; one effective before its start reprices all
    of it.
    """
    if effective_on >= period.ends_on:
        return Adjustment()
    changed = Period(max(effective_on, period.starts_on), period.ends_on)
    return Adjustment(
        credits=lines_for(subscription_id, billed, changed),
        charges=lines_for(subscription_id, revised, changed),
    )


def revised_terms(
    billed: Sequence[ServiceSegment], *, effective_on: date, terms: Terms | None, period: Period
) -> tuple[ServiceSegment, ...]:
    """``billed`` with the days from ``effective_on`` on replaced by ``terms`` (``None``: an
    immediate cancellation, no service from that day)."""
    history = ServiceHistory()
    for segment in sorted(billed, key=lambda s: s.starts_on):
        history = history.from_day(
            segment.starts_on, Terms(segment.plan, segment.quantity, segment.anchor)
        ).from_day(segment.ends_on, None)
    return history.from_day(effective_on, terms).segments(period)


def change_adjustment(
    subscription_id: UUID,
    *,
    billed: Sequence[ServiceSegment],
    effective_on: date,
    terms: Terms | None,
    period: Period,
) -> tuple[Adjustment, tuple[ServiceSegment, ...]]:
    """A seat or plan change (``terms``) or an immediate cancellation (``None``) effective on
    ``effective_on``: the adjustment, and what the period is billed for afterwards (the next
    change's ``billed``)."""
    revised = revised_terms(billed, effective_on=effective_on, terms=terms, period=period)
    adjustment = reprice(
        subscription_id,
        billed=billed,
        revised=revised,
        period=period,
        effective_on=effective_on,
    )
    return adjustment, revised


def rebill(
    subscription_id: UUID,
    *,
    billed: Sequence[ServiceSegment],
    planned: Sequence[ServiceSegment],
    period: Period,
    effective_on: date,
) -> tuple[Adjustment, tuple[ServiceSegment, ...]]:
    """:func:`change_adjustment` for any revision of the service, given as the segments now
    planned for ``period`` (a change, an immediate cancellation, a cancellation scheduled
    inside a period already billed): the adjustment, and what the period is billed for
    afterwards (the billed days before ``effective_on``, the planned ones from it)."""
    if effective_on >= period.ends_on:
        return Adjustment(), tuple(billed)
    changed = Period(max(effective_on, period.starts_on), period.ends_on)
    kept = [
        replace(segment, ends_on=min(segment.ends_on, changed.starts_on))
        for segment in billed
        if segment.starts_on < changed.starts_on
    ]
    new = [
        replace(segment, starts_on=days.starts_on, ends_on=days.ends_on)
        for segment in planned
        if (days := segment.days.overlap(changed)) is not None
    ]
    revised = _merged(sorted((*kept, *new), key=lambda segment: segment.starts_on))
    adjustment = reprice(
        subscription_id, billed=billed, revised=revised, period=period, effective_on=effective_on
    )
    return adjustment, revised


# Running the billing period -----------------------------------------------------------------


class PeriodNotOver(UnprocessableEntity):
    code = "period_not_over"
    title = "The period is not over yet"

    def __init__(self, period: Period, run_on: date) -> None:
        super().__init__(
            f"A run on {run_on.isoformat()} cannot close the period ending "
            f"{period.last_day.isoformat()}: services not rendered yet cannot be documented.",
            period_end=period.last_day.isoformat(),
        )


def check_closable(period: Period, *, run_on: date) -> None:
    """A closing run may document a period on its last day or later (the month-end run on
    the 31st issues December's UPD dated the 31st), never before."""
    if run_on < period.last_day:
        raise PeriodNotOver(period, run_on)


# An invoice's money -------------------------------------------------------------------------


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    OVERDUE = "overdue"
    """Issued and past its due date, not fully paid: still open."""
    PAID = "paid"
    VOIDED = "voided"


OPEN_STATUSES = frozenset({InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE})


class InvoiceAlreadyPaid(InvalidStateTransition):
    code = "invoice_already_paid"
    title = "The invoice is already paid"

    def __init__(self, number: str) -> None:
        super().__init__(f"Invoice {number} is paid in full; nothing is due on it.", number=number)


class InvoiceIsVoided(InvalidStateTransition):
    code = "invoice_voided"
    title = "The invoice is voided"

    def __init__(self, number: str) -> None:
        super().__init__(f"Invoice {number} was voided; nothing is due on it.", number=number)


class AllocationExceedsInvoice(UnprocessableEntity):
    code = "allocation_exceeds_invoice"
    title = "More than the invoice's due amount"

    def __init__(self, number: str, due: Decimal, amount: Decimal) -> None:
        super().__init__(
            f"Invoice {number} has {due} due; cannot apply {amount} to it.",
            number=number,
            amount_due=str(due),
        )


class InvoiceCannotBeVoided(InvalidStateTransition):
    code = "invoice_cannot_be_voided"
    title = "Only an unpaid invoice can be voided"

    def __init__(self, number: str, why: str) -> None:
        super().__init__(f"Invoice {number} cannot be voided: {why}", number=number)


@dataclass(frozen=True)
class InvoiceBalance:
    """An issued invoice for payment as money sees it: what it asks and what was paid."""

    invoice_id: UUID
    number: str
    customer_id: UUID
    buyer_inn: str
    issued_on: date
    due_on: date
    amount_total: Decimal
    amount_paid: Decimal = ZERO
    status: InvoiceStatus = InvoiceStatus.ISSUED

    @property
    def amount_due(self) -> Decimal:
        return self.amount_total - self.amount_paid

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def check_payable(self) -> None:
        if self.status is InvoiceStatus.PAID:
            raise InvoiceAlreadyPaid(self.number)
        if self.status is InvoiceStatus.VOIDED:
            raise InvoiceIsVoided(self.number)

    def pay(self, amount: Decimal) -> InvoiceBalance:
        """Apply ``amount`` (a payment's allocation or the balance); paid when nothing is due.

        The service publishes ``invoice.paid`` when the status becomes ``paid``.
        """
        self.check_payable()
        amount = check_positive_kopecks(amount)
        if amount > self.amount_due:
            raise AllocationExceedsInvoice(self.number, self.amount_due, amount)
        paid = self.amount_paid + amount
        status = InvoiceStatus.PAID if paid == self.amount_total else self.status
        return replace(self, amount_paid=paid, status=status)

    def mark_overdue(self) -> InvoiceBalance:
        """Dunning found it unpaid past its due date (:mod:`billing.dunning.domain`)."""
        self.check_payable()
        return replace(self, status=InvoiceStatus.OVERDUE)

    def void(self) -> InvoiceBalance:
        """Cancel an invoice nobody paid anything on; its number stays used."""
        self.check_payable()
        if self.amount_paid:
            raise InvoiceCannotBeVoided(
                self.number, f"{self.amount_paid} is already paid on it; issue a credit instead."
            )
        return replace(self, status=InvoiceStatus.VOIDED)
