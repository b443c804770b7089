"""Reading orders' copy of the organizations."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orders.organizations.models import Organization


async def get_organization(
    session: AsyncSession, organization_id: uuid.UUID
) -> Organization | None:
    """The organization as orders last heard of it, or None if identity has not told orders yet."""
    return await session.get(Organization, organization_id)
