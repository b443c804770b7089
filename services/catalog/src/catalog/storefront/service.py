"""The public storefront: what any visitor (no token needed) finds among published products."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.categories import service as categories
from catalog.products.domain import ProductStatus
from catalog.products.schemas import PlanRead
from catalog.storefront import repository
from catalog.storefront.domain import (
    Filters,
    Position,
    RelevanceNeedsQuery,
    Sort,
    default_sort,
    search_query,
)
from catalog.storefront.schemas import (
    FromPrice,
    StorefrontPage,
    StorefrontProduct,
    StorefrontProductDetail,
)
from vitrina_kit.problems import NotFound


class StorefrontProductNotFound(NotFound):
    code = "product_not_found"
    title = "Product not found"

    def __init__(self, slug: str) -> None:
        super().__init__(f"There is no product {slug!r} on the storefront.")


async def browse(
    session: AsyncSession,
    filters: Filters,
    *,
    q: str | None,
    sort: Sort | None,
    cursor: str | None,
    limit: int,
) -> StorefrontPage:
    """A page of published products matching the filters and the search words."""
    searching = q is not None and q.strip() != ""
    sort = sort or default_sort(searching)
    if sort is Sort.RELEVANCE and not searching:
        raise RelevanceNeedsQuery()
    after = Position.decode(cursor, sort) if cursor is not None else None
    if filters.category is not None:
        await categories.check_exists(session, filters.category)
    search = None
    if searching:
        assert q is not None
        search = search_query(await repository.lexemes(session, q))
        if search is None:
            # Only stop words ("и", "для"...): nothing anyone's product could be found by.
            return StorefrontPage(items=[], next_cursor=None)
    rows = await repository.page(
        session,
        filters,
        search=search,
        sort=sort,
        after=after,
        limit=limit + 1,
        today=datetime.now(UTC).date(),
    )
    more, rows = len(rows) > limit, rows[:limit]
    items = [
        StorefrontProduct(
            id=row.id,
            slug=row.slug,
            name=row.name,
            short_description=row.short_description,
            category=row.category,
            partner_id=row.partner_id,
            partner_name=row.partner_name,
            tags=row.tags,
            from_price=FromPrice(
                unit_price=row.unit_price,
                pricing_unit=row.pricing_unit,
                billing_period=row.billing_period,
                vat_mode=row.vat_mode,
            ),
            has_trial=row.has_trial,
            published_at=row.published_at,
        )
        for row in rows
    ]
    next_cursor = None
    if more:
        last = rows[-1]
        key = {
            Sort.RELEVANCE: last.rank,
            Sort.NAME: last.name,
            Sort.PRICE: last.unit_price,
            Sort.PRICE_DESC: last.unit_price,
            Sort.NEWEST: last.published_at,
        }[sort]
        next_cursor = Position(sort, key, last.id).encode()
    return StorefrontPage(items=items, next_cursor=next_cursor)


async def product(session: AsyncSession, slug: str) -> StorefrontProductDetail:
    """A published (or retired) product's page with its public plans."""
    found = await repository.by_slug(session, slug)
    if found is None:
        raise StorefrontProductNotFound(slug)
    return StorefrontProductDetail(
        id=found.id,
        slug=found.slug,
        name=found.name,
        short_description=found.short_description,
        description=found.description,
        category=found.category,
        partner_id=found.partner_id,
        partner_name=await repository.seller_name(session, found.partner_id),
        tags=found.tags,
        media=found.media,
        documentation_url=found.documentation_url,
        support=found.support,
        status=ProductStatus(found.status),
        orderable=found.status == ProductStatus.PUBLISHED,
        published_at=found.published_at,
        plans=[PlanRead.model_validate(plan) for plan in found.plans if plan.public],
    )
