from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.connectors.models import Connector, ConnectorToken
from vitrina_kit.auth import Caller
from vitrina_kit.pagination import Position
from vitrina_kit.tenancy import visible_to


async def visible(
    session: AsyncSession, caller: Caller, connector_id: uuid.UUID
) -> Connector | None:
    """The connector if the caller may see it (the operator any, others their own)."""
    return await session.scalar(
        select(Connector).where(
            Connector.connector_id == connector_id, visible_to(caller, Connector.organization_id)
        )
    )


async def page(
    session: AsyncSession, caller: Caller, *, after: Position | None, limit: int
) -> Sequence[Connector]:
    query = select(Connector).where(visible_to(caller, Connector.organization_id))
    if after is not None:
        query = query.where(tuple_(Connector.created_at, Connector.connector_id) > after)
    query = query.order_by(Connector.created_at, Connector.connector_id).limit(limit)
    return (await session.scalars(query)).all()


async def find(session: AsyncSession, *, organization_id: uuid.UUID, kind: str) -> Connector | None:
    """The organization's enabled connector of ``kind`` (the oldest, if it has several)."""
    return await session.scalar(
        select(Connector)
        .where(
            Connector.organization_id == organization_id,
            Connector.kind == kind,
            Connector.enabled.is_(True),
        )
        .order_by(Connector.created_at)
        .limit(1)
    )


async def forget_token(session: AsyncSession, connector_id: uuid.UUID) -> None:
    """Drop cached tokens: they were issued for credentials that just changed."""
    await session.execute(delete(ConnectorToken).where(ConnectorToken.connector_id == connector_id))
