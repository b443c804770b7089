from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from identity.organizations.domain import OrganizationStatus
from identity.organizations.models import Organization
from vitrina_kit.auth import Caller


def _visible_to(caller: Caller) -> Select[Organization]:
    """Organizations the caller may see: its own, or every one for the operator. Tenancy is
    part of the query, not a later check."""
    query = select(Organization)
    if not caller.is_operator:
        query = query.where(Organization.id == caller.organization_id)
    return query


async def get_visible(
    session: AsyncSession, organization_id: uuid.UUID, caller: Caller, *, for_update: bool = False
) -> Organization | None:
    query = _visible_to(caller).where(Organization.id == organization_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def get(
    session: AsyncSession, organization_id: uuid.UUID, *, for_update: bool = False
) -> Organization | None:
    query = select(Organization).where(Organization.id == organization_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def page(
    session: AsyncSession,
    caller: Caller,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    status: OrganizationStatus | None,
) -> Sequence[Organization]:
    """Up to ``limit`` visible organizations in creation order, after the ``after`` position."""
    query = _visible_to(caller)
    if status is not None:
        query = query.where(Organization.status == status)
    if after is not None:
        query = query.where(tuple_(Organization.created_at, Organization.id) > tuple_(*after))
    query = query.order_by(Organization.created_at, Organization.id).limit(limit)
    return (await session.scalars(query)).all()


async def live_registration_exists(session: AsyncSession, inn: str, kpp: str | None) -> bool:
    """Is the same INN (and KPP) registered or waiting: rejected applications do not count."""
    query = select(Organization.id).where(
        Organization.inn == inn,
        Organization.kpp.is_(None) if kpp is None else Organization.kpp == kpp,
        Organization.status != OrganizationStatus.REJECTED,
    )
    return (await session.scalar(query.limit(1))) is not None
