"""The storefront's queries: published products, filtered, searched and ordered in PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from catalog.categories.models import Category
from catalog.organizations.models import Seller
from catalog.products.domain import ProductStatus
from catalog.products.models import Plan, Product
from catalog.storefront.domain import Filters, Position, Sort

PUBLISHED: ColumnElement[str] = literal_column(f"'{ProductStatus.PUBLISHED}'")
"""A literal, not a parameter: the storefront's partial indexes (``WHERE status = 'published'``)
then serve generic plans of the query too."""

ON_STOREFRONT = (ProductStatus.PUBLISHED, ProductStatus.RETIRED)
"""Statuses whose page can be opened: retired products stay readable for their subscribers."""


def price_on(day: date) -> ColumnElement[Decimal]:
    """SQL twin of ``Plan.price_on(day).current``: a scheduled price is the price from its day."""
    return case((Plan.next_price_effective_on <= day, Plan.next_unit_price), else_=Plan.unit_price)


async def lexemes(session: AsyncSession, words: str) -> list[str]:
    """What PostgreSQL's Russian configuration makes of ``words``: stems, stop words dropped."""
    document = func.to_tsvector(cast("russian", REGCONFIG), words)
    return list(await session.scalar(select(func.tsvector_to_array(document))) or [])


async def page(
    session: AsyncSession,
    filters: Filters,
    *,
    search: str | None,
    sort: Sort,
    after: Position | None,
    limit: int,
    today: date,
) -> Sequence[Row[Any]]:
    """Up to ``limit`` published products matching ``filters`` (and ``search``, a tsquery), in
    ``sort`` order after ``after``; each with its cheapest matching plan."""
    price = price_on(today)
    matching_plans = [Plan.product_id == Product.id, Plan.public.is_(True)]
    if filters.pricing_unit is not None:
        matching_plans.append(Plan.pricing_unit == filters.pricing_unit)
    if filters.with_trial:
        matching_plans.append(Plan.trial_days > 0)
    if filters.price_min is not None:
        matching_plans.append(price >= filters.price_min)
    if filters.price_max is not None:
        matching_plans.append(price <= filters.price_max)
    # The plan the storefront quotes "from": the cheapest of those that match; a product
    # without any drops out of the (inner) lateral join.
    cheapest = (
        select(
            price.label("unit_price"),
            Plan.pricing_unit,
            Plan.billing_period,
            Plan.vat_mode,
        )
        .where(*matching_plans)
        .order_by(price, Plan.position)
        .limit(1)
        .lateral("cheapest")
    )
    # Per product, through the (product_id, code) index: an EXISTS here would be planned as one
    # hashed scan of every trial plan in the catalog, for each page.
    has_trial = func.coalesce(
        select(func.bool_or(Plan.trial_days > 0))
        .where(Plan.product_id == Product.id, Plan.public.is_(True))
        .scalar_subquery(),
        false(),
    )
    matched = func.to_tsquery(cast("simple", REGCONFIG), search) if search is not None else None
    rank: ColumnElement[Any] = (
        func.ts_rank(Product.search_document, matched) if matched is not None else literal(None)
    )
    query = (
        select(
            Product.id,
            Product.slug,
            Product.name,
            Product.short_description,
            Product.category,
            Product.partner_id,
            func.coalesce(Seller.short_name, Seller.legal_name).label("partner_name"),
            Product.tags,
            Product.published_at,
            cheapest.c.unit_price,
            cheapest.c.pricing_unit,
            cheapest.c.billing_period,
            cheapest.c.vat_mode,
            has_trial.label("has_trial"),
            rank.label("rank"),
        )
        .select_from(Product)
        .join(cheapest, true())
        .outerjoin(Seller, Seller.organization_id == Product.partner_id)
        .where(Product.status == PUBLISHED)
    )
    if matched is not None:
        query = query.where(Product.search_document.bool_op("@@")(matched))
    if filters.category is not None:
        in_category = select(Category.slug).where(
            or_(Category.slug == filters.category, Category.parent_slug == filters.category)
        )
        query = query.where(Product.category.in_(in_category))
    if filters.partner_id is not None:
        query = query.where(Product.partner_id == filters.partner_id)

    sort_key: ColumnElement[Any] = {
        Sort.RELEVANCE: rank,
        Sort.NAME: Product.name.expression,
        Sort.PRICE: cheapest.c.unit_price,
        Sort.PRICE_DESC: cheapest.c.unit_price,
        Sort.NEWEST: Product.published_at.expression,
    }[sort]
    if after is not None:
        position = tuple_(sort_key, Product.id)
        last = tuple_(literal(after.key, sort_key.type), literal(after.product_id))
        query = query.where(position < last if sort.descending else position > last)
    if sort.descending:
        query = query.order_by(sort_key.desc(), Product.id.desc())
    else:
        query = query.order_by(sort_key, Product.id)
    query = query.limit(limit)
    return (await session.execute(query)).all()


async def by_slug(session: AsyncSession, slug: str) -> Product | None:
    query = (
        select(Product)
        .where(Product.slug == slug, Product.status.in_(ON_STOREFRONT))
        .options(raiseload(Product.revisions))  # the review history is not the storefront's
    )
    return (await session.scalars(query)).one_or_none()


async def seller_name(session: AsyncSession, organization_id: uuid.UUID) -> str | None:
    """How the storefront names a seller; None until identity's event about it has arrived."""
    seller = await session.get(Seller, organization_id)
    return seller.display_name if seller is not None else None
