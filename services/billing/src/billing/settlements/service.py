"""Issuing partners' monthly settlements and keeping their commission rates.

A month's sales are read from the documents themselves (:mod:`billing.settlements.domain` says
why): the net amounts of the month's closing documents' lines, minus the lines of the credit
notes issued in the month for days already documented (``_SALES`` says which), each attributed
to the partner selling the line's product (the catalog projection). The marketplace
operator's own products are its own sales, not settled.

A settlement is issued once per partner and month: the partner's month is taken under a
transaction-scoped advisory lock, checked, and only then numbered and stored, so repeated or
concurrent runs find it done (and the unique (partner, month) stands behind the lock).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from billing.catalog.models import CatalogProduct
from billing.invoices.domain import Period
from billing.invoices.numbering import DocumentKind
from billing.invoices.service import next_number
from billing.settlements.domain import CommissionRates, Sale, check_rate, settle
from billing.settlements.models import PartnerCommissionRate, ProductCommissionRate, Settlement
from vitrina_contracts.events import billing as contract
from vitrina_kit.auth import Caller
from vitrina_kit.ops import OperatorOnly
from vitrina_kit.outbox import add_event
from vitrina_kit.pagination import decode_cursor, encode_cursor
from vitrina_kit.problems import NotFound
from vitrina_kit.tenancy import visible_to

_SALES = """
    WITH lines AS (
        SELECT (l->>'product_id')::uuid AS product_id, (l->>'amount_net')::numeric AS amount
        FROM closing_documents d, jsonb_array_elements(d.document->'lines') l
        WHERE d.period_starts_on = :starts_on
        UNION ALL
        SELECT (l->>'product_id')::uuid, -(l->>'amount_net')::numeric
        FROM credit_notes n, jsonb_array_elements(n.document->'lines') l
        WHERE n.issued_on >= :starts_on AND n.issued_on < :ends_on
          AND EXISTS (
              SELECT 1 FROM closing_documents c
              WHERE c.customer_id = n.customer_id
                AND c.period_starts_on
                    = date_trunc('month', (l->>'period_start')::date)::date
                AND c.created_at < n.created_at)
    )
    SELECT p.partner_id, lines.product_id, sum(lines.amount) AS amount
    FROM lines JOIN catalog_products p ON p.product_id = lines.product_id
    WHERE p.partner_id <> :operator_id {partner}
    GROUP BY p.partner_id, lines.product_id
"""
"""A credit note counts only for days a closing document already documented (a change
backdated into a closed month). Most credit notes correct an invoice for days not rendered
yet; those days never reach a closing document, so subtracting them would count the change
twice: the month's closing document already bills only the days rendered."""


class SettlementNotFound(NotFound):
    code = "settlement_not_found"
    title = "No such settlement"

    def __init__(self, settlement_id: uuid.UUID) -> None:
        super().__init__(
            f"There is no settlement {settlement_id}.", settlement_id=str(settlement_id)
        )


class RatesNotFound(NotFound):
    code = "commission_rates_not_found"
    title = "No such partner's rates"

    def __init__(self, partner_id: uuid.UUID) -> None:
        super().__init__(
            f"There are no commission rates of {partner_id} for you to read.",
            partner_id=str(partner_id),
        )


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "No such product"

    def __init__(self, product_id: uuid.UUID) -> None:
        super().__init__(f"Billing knows no product {product_id}.", product_id=str(product_id))


async def sales_of(
    session: AsyncSession,
    month: Period,
    *,
    operator_id: uuid.UUID,
    partner_id: uuid.UUID | None = None,
) -> list[Sale]:
    """The month's sales by partner and product (net, credit notes subtracted)."""
    params: dict[str, Any] = {
        "starts_on": month.starts_on,
        "ends_on": month.ends_on,
        "operator_id": operator_id,
    }
    partner = ""
    if partner_id is not None:
        partner, params["partner_id"] = "AND p.partner_id = :partner_id", partner_id
    rows = await session.execute(text(_SALES.format(partner=partner)), params)
    return [Sale(row.partner_id, row.product_id, Decimal(row.amount)) for row in rows]


async def partners_to_settle(
    session: AsyncSession, month: Period, *, operator_id: uuid.UUID
) -> list[uuid.UUID]:
    sales = await sales_of(session, month, operator_id=operator_id)
    done = set(
        await session.scalars(
            select(Settlement.partner_id).where(Settlement.period_starts_on == month.starts_on)
        )
    )
    return sorted({sale.partner_id for sale in sales} - done, key=str)


async def rates_of(
    session: AsyncSession, partner_id: uuid.UUID, *, default: Decimal
) -> CommissionRates:
    own = await session.scalar(
        select(PartnerCommissionRate.percent).where(PartnerCommissionRate.partner_id == partner_id)
    )
    products = await session.execute(
        select(ProductCommissionRate.product_id, ProductCommissionRate.percent).where(
            ProductCommissionRate.partner_id == partner_id
        )
    )
    return CommissionRates(
        default=own if own is not None else default,
        per_product={row.product_id: row.percent for row in products},
    )


async def settle_partner(
    session: AsyncSession,
    partner_id: uuid.UUID,
    month: Period,
    *,
    operator_id: uuid.UUID,
    default_rate: Decimal,
) -> Settlement | None:
    """Issue the partner's settlement for ``month``; None if it exists or there were no sales."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
        {"key": f"settlement:{partner_id}:{month.starts_on.isoformat()}"},
    )
    held = await session.scalar(
        select(Settlement.settlement_id).where(
            Settlement.partner_id == partner_id,
            Settlement.period_starts_on == month.starts_on,
        )
    )
    if held is not None:
        return None
    sales = await sales_of(session, month, operator_id=operator_id, partner_id=partner_id)
    rates = await rates_of(session, partner_id, default=default_rate)
    report = settle(partner_id, month, sales, rates)
    if not report.lines:
        return None
    settlement_id = uuid.uuid4()
    number = await next_number(session, DocumentKind.SETTLEMENT, month.last_day.year)
    event = contract.SettlementIssued(
        settlement_id=settlement_id,
        number=number,
        partner_id=partner_id,
        period_start=month.starts_on,
        period_end=month.last_day,
        gross_sales=report.gross_sales,
        commission=report.commission,
        payout=report.payout,
        lines=tuple(
            contract.SettlementLine(
                product_id=line.product_id,
                gross_sales=line.gross_sales,
                commission=line.commission,
            )
            for line in report.lines
        ),
    )
    settlement = Settlement(
        settlement_id=settlement_id,
        number=number,
        partner_id=partner_id,
        period_starts_on=month.starts_on,
        period_ends_on=month.ends_on,
        gross_sales=report.gross_sales,
        commission=report.commission,
        payout=report.payout,
        document=event.model_dump(mode="json"),
    )
    session.add(settlement)
    await session.flush()
    await add_event(
        session,
        event,
        subject=str(settlement_id),
        aggregate_version=1,
        tenant_id=str(partner_id),
    )
    return settlement


# Rates --------------------------------------------------------------------------------------


def _operator(caller: Caller) -> None:
    if not caller.is_operator:
        raise OperatorOnly("Commission rates are set by the marketplace operator.")


async def set_partner_rate(
    session: AsyncSession, caller: Caller, partner_id: uuid.UUID, percent: Decimal
) -> None:
    _operator(caller)
    percent = check_rate(percent)
    statement = upsert(PartnerCommissionRate).values(partner_id=partner_id, percent=percent)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[PartnerCommissionRate.partner_id], set_={"percent": percent}
        )
    )


async def set_product_rate(
    session: AsyncSession, caller: Caller, product_id: uuid.UUID, percent: Decimal
) -> uuid.UUID:
    """The product's override (its partner from the catalog projection); the partner's id."""
    _operator(caller)
    percent = check_rate(percent)
    partner_id = await session.scalar(
        select(CatalogProduct.partner_id).where(CatalogProduct.product_id == product_id)
    )
    if partner_id is None:
        raise ProductNotFound(product_id)
    statement = upsert(ProductCommissionRate).values(
        product_id=product_id, partner_id=partner_id, percent=percent
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ProductCommissionRate.product_id], set_={"percent": percent}
        )
    )
    return partner_id


async def partner_rates(
    session: AsyncSession, caller: Caller, partner_id: uuid.UUID, *, default: Decimal
) -> CommissionRates:
    """The partner's rates, for the operator and the partner itself (others: 404)."""
    if not caller.is_operator and caller.organization_id != partner_id:
        raise RatesNotFound(partner_id)
    return await rates_of(session, partner_id, default=default)


# Reading ------------------------------------------------------------------------------------


async def settlements_page(
    session: AsyncSession,
    caller: Caller,
    *,
    cursor: str | None,
    limit: int,
    partner_id: uuid.UUID | None = None,
) -> tuple[Sequence[Settlement], str | None]:
    """The partner's own settlements (the operator's: everyone's), newest first."""
    query = select(Settlement).where(visible_to(caller, Settlement.partner_id))
    if partner_id is not None:
        query = query.where(Settlement.partner_id == partner_id)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(
            tuple_(Settlement.created_at, Settlement.settlement_id) < tuple_(*after)
        )
    query = query.order_by(Settlement.created_at.desc(), Settlement.settlement_id.desc())
    rows = list(await session.scalars(query.limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = encode_cursor((rows[-1].created_at, rows[-1].settlement_id)) if more else None
    return rows, next_cursor


async def get_settlement(
    session: AsyncSession, caller: Caller, settlement_id: uuid.UUID
) -> Settlement:
    settlement = await session.scalar(
        select(Settlement).where(
            Settlement.settlement_id == settlement_id,
            visible_to(caller, Settlement.partner_id),
        )
    )
    if settlement is None:
        raise SettlementNotFound(settlement_id)
    return settlement
