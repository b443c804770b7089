"""Monthly settlements with partners (the agent's report), as plain values.

**Basis: services documented, not money collected.** A month's settlement counts the net (VAT
excluded) amounts of the closing documents (UPD) for the services rendered in that month, minus
the credit notes issued against them in that month: the sale is the UPD, as in the operator's
own books and 1C. Collecting the money is the marketplace's risk, as an agent that invoices in
its own name. A credit note for an earlier month reduces the month it is issued in, so a
settlement once issued is never reopened.

**Commission.** A percent per partner, overridden per product; computed on each product's gross
for the month and rounded half up on that line; the payout is gross minus commission. A month
where credits exceed sales has a negative payout: it is carried, not hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from billing.invoices.domain import Period
from billing.money import KOPECK, ZERO, to_kopecks
from vitrina_kit.problems import UnprocessableEntity

HUNDRED = Decimal(100)


class InvalidCommissionRate(UnprocessableEntity):
    code = "invalid_commission_rate"
    title = "A commission is a percent between 0 and 100"

    def __init__(self, rate: Decimal) -> None:
        super().__init__(
            f"{rate} is not a percent from 0 to 100 with at most two decimals.", rate=str(rate)
        )


def check_rate(rate: Decimal) -> Decimal:
    if not rate.is_finite() or not 0 <= rate <= HUNDRED or rate != rate.quantize(KOPECK):
        raise InvalidCommissionRate(rate)
    return rate


@dataclass(frozen=True)
class CommissionRates:
    """A partner's commission: the default percent and per-product overrides."""

    default: Decimal
    per_product: Mapping[UUID, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_rate(self.default)
        for rate in self.per_product.values():
            check_rate(rate)

    def rate_for(self, product_id: UUID) -> Decimal:
        return self.per_product.get(product_id, self.default)


@dataclass(frozen=True)
class Sale:
    """One document line counted in a settlement: net, negative for a credit note's line."""

    partner_id: UUID
    product_id: UUID
    amount_net: Decimal


@dataclass(frozen=True)
class SettlementLine:
    product_id: UUID
    gross_sales: Decimal
    commission_rate: Decimal
    commission: Decimal

    @property
    def payout(self) -> Decimal:
        return self.gross_sales - self.commission


@dataclass(frozen=True)
class Settlement:
    """One partner's month: the contract's ``SettlementIssued`` without number and id."""

    partner_id: UUID
    period: Period
    lines: tuple[SettlementLine, ...]

    @property
    def gross_sales(self) -> Decimal:
        return sum((line.gross_sales for line in self.lines), ZERO)

    @property
    def commission(self) -> Decimal:
        return sum((line.commission for line in self.lines), ZERO)

    @property
    def payout(self) -> Decimal:
        return self.gross_sales - self.commission


def settle(
    partner_id: UUID, period: Period, sales: Iterable[Sale], rates: CommissionRates
) -> Settlement:
    """The partner's settlement for ``period`` from the month's sales (other partners' sales
    are ignored, so the service may pass the whole month). Lines are by product, in product id
    order so the report reads the same every time it is built."""
    gross: dict[UUID, Decimal] = {}
    for sale in sales:
        if sale.partner_id == partner_id:
            gross[sale.product_id] = gross.get(sale.product_id, ZERO) + sale.amount_net
    lines = tuple(
        SettlementLine(
            product_id=product_id,
            gross_sales=amount,
            commission_rate=rates.rate_for(product_id),
            commission=to_kopecks(amount * rates.rate_for(product_id) / HUNDRED),
        )
        for product_id, amount in sorted(gross.items(), key=lambda item: str(item[0]))
    )
    return Settlement(partner_id, period, lines)
