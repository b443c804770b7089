"""Reading the taxonomy and checking products against it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.categories import repository
from catalog.categories.domain import UnknownCategory
from catalog.categories.schemas import CategoryRead


async def tree(session: AsyncSession) -> list[CategoryRead]:
    """The top-level categories, each with its children, in the storefront's order."""
    categories = await repository.all_categories(session)
    roots = [
        CategoryRead(slug=c.slug, name=c.name, children=[])
        for c in categories
        if c.parent_slug is None
    ]
    by_slug = {root.slug: root for root in roots}
    for category in categories:
        if category.parent_slug is not None:
            by_slug[category.parent_slug].children.append(
                CategoryRead(slug=category.slug, name=category.name, children=[])
            )
    return roots


async def check_exists(session: AsyncSession, slug: str) -> None:
    if not await repository.exists(session, slug):
        raise UnknownCategory(slug)
