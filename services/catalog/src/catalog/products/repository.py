from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.products.models import Product
from vitrina_kit.auth import Caller
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
