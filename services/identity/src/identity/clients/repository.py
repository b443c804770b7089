from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from identity.clients.models import ApiClient


async def get(
    session: AsyncSession, client_id: str, *, for_update: bool = False
) -> ApiClient | None:
    """Any client by id, with its organization (the token endpoint's lookup)."""
    query = select(ApiClient).where(ApiClient.client_id == client_id)
    if for_update:
        query = query.with_for_update(of=ApiClient)
    return (await session.scalars(query)).one_or_none()


async def get_of_organization(
    session: AsyncSession, organization_id: uuid.UUID, client_id: str, *, for_update: bool = False
) -> ApiClient | None:
    """The client if it belongs to ``organization_id`` (whose visibility the caller checked)."""
    query = select(ApiClient).where(
        ApiClient.client_id == client_id, ApiClient.organization_id == organization_id
    )
    if for_update:
        query = query.with_for_update(of=ApiClient)
    return (await session.scalars(query)).one_or_none()


async def of_organization(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[ApiClient]:
    query = (
        select(ApiClient)
        .where(ApiClient.organization_id == organization_id)
        .order_by(ApiClient.created_at, ApiClient.client_id)
    )
    return (await session.scalars(query)).all()
