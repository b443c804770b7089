from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.products.domain import RevisionStatus
from catalog.products.models import Product, ProductRevision
from vitrina_kit.auth import Caller
from vitrina_kit.pagination import Position
from vitrina_kit.tenancy import visible_to


async def get_visible(
    session: AsyncSession, caller: Caller, product_id: uuid.UUID, *, for_update: bool = False
) -> Product | None:
    """The product if the caller owns it (or is the operator); tenancy is in the query."""
    query = select(Product).where(Product.id == product_id, visible_to(caller, Product.partner_id))
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.scalar(select(Product.id).where(Product.slug == slug))) is not None


async def page(
    session: AsyncSession,
    caller: Caller,
    *,
    after: Position | None,
    limit: int,
    status: str | None,
) -> Sequence[Product]:
    """Up to ``limit`` of the caller's products (all for the operator), oldest first."""
    query = select(Product).where(visible_to(caller, Product.partner_id))
    if status is not None:
        query = query.where(Product.status == status)
    if after is not None:
        query = query.where(tuple_(Product.created_at, Product.id) > tuple_(*after))
    query = query.order_by(Product.created_at, Product.id).limit(limit)
    return (await session.scalars(query)).all()


async def queue_page(
    session: AsyncSession, *, after: Position | None, limit: int
) -> Sequence[tuple[Product, datetime]]:
    """Products with a revision waiting for review, the longest waiting first."""
    submitted_at = ProductRevision.submitted_at
    query = (
        select(Product, submitted_at)
        .join(ProductRevision, ProductRevision.product_id == Product.id)
        .where(ProductRevision.status == RevisionStatus.SUBMITTED)
    )
    if after is not None:
        query = query.where(tuple_(submitted_at, Product.id) > tuple_(*after))
    query = query.order_by(submitted_at, Product.id).limit(limit)
    rows = (await session.execute(query)).all()
    return [(product, when) for product, when in rows if when is not None]
