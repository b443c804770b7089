from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query

from catalog.products.domain import PricingUnit
from catalog.storefront import service
from catalog.storefront.domain import Filters, Sort
from catalog.storefront.schemas import StorefrontPage, StorefrontProductDetail
from vitrina_kit.api import SessionDep
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/storefront", tags=["storefront"], responses=PROBLEM_RESPONSES)

PriceBound = Annotated[
    Decimal | None, Query(ge=0, le=Decimal("999999999.99"), max_digits=11, decimal_places=2)
]


@router.get("/products", response_model=StorefrontPage)
async def browse_products(
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Words to search for, in Russian.")
    ] = None,
    category: Annotated[
        str | None, Query(max_length=100, description="A category; includes its subcategories.")
    ] = None,
    partner_id: uuid.UUID | None = None,
    pricing_unit: PricingUnit | None = None,
    price_min: PriceBound = None,
    price_max: PriceBound = None,
    has_trial: Annotated[
        bool, Query(description="Only products with a plan that starts with a free trial.")
    ] = False,
    sort: Annotated[
        Sort | None, Query(description="Default: relevance with q, else newest.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> StorefrontPage:
    """Published products (public: no token needed), filtered, searched and sorted.

    Price, unit and trial filters must hold for the same public plan; ``from_price`` quotes the
    cheapest plan that matches them.
    """
    filters = Filters(
        category=category,
        partner_id=partner_id,
        pricing_unit=pricing_unit,
        price_min=price_min,
        price_max=price_max,
        with_trial=has_trial,
    )
    return await service.browse(session, filters, q=q, sort=sort, cursor=cursor, limit=limit)


@router.get("/products/{slug}", response_model=StorefrontProductDetail)
async def product_page(
    session: SessionDep, slug: Annotated[str, Path(max_length=100)]
) -> StorefrontProductDetail:
    """A product's storefront page with its public plans; retired products stay readable."""
    return await service.product(session, slug)
