from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.categories.models import Category


async def all_categories(session: AsyncSession) -> Sequence[Category]:
    query = select(Category).order_by(Category.parent_slug.nulls_first(), Category.position)
    return (await session.scalars(query)).all()


async def exists(session: AsyncSession, slug: str) -> bool:
    return (await session.scalar(select(Category.slug).where(Category.slug == slug))) is not None
