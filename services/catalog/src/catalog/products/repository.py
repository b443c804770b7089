from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.products.models import Product


async def get_owned(
    session: AsyncSession, product_id: uuid.UUID, *, partner_id: uuid.UUID, for_update: bool = False
) -> Product | None:
    """The product if ``partner_id`` owns it; tenancy is part of the query, not a later check."""
    query = select(Product).where(Product.id == product_id, Product.partner_id == partner_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.scalar(select(Product.id).where(Product.slug == slug))) is not None
