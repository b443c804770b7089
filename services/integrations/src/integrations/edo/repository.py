from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from integrations.edo.models import EdoDocument
from vitrina_kit.auth import Caller
from vitrina_kit.pagination import Position
from vitrina_kit.tenancy import visible_to


async def visible(
    session: AsyncSession, caller: Caller, edo_document_id: uuid.UUID, *, with_content: bool = False
) -> EdoDocument | None:
    """The document if the caller may see it: the buyer its own, the operator all."""
    query = select(EdoDocument).where(
        EdoDocument.edo_document_id == edo_document_id,
        visible_to(caller, EdoDocument.buyer_organization_id),
    )
    if with_content:
        query = query.options(undefer(EdoDocument.content))
    return await session.scalar(query)


async def page(
    session: AsyncSession,
    caller: Caller,
    *,
    status: str | None,
    after: Position | None,
    limit: int,
) -> Sequence[EdoDocument]:
    query = select(EdoDocument).where(visible_to(caller, EdoDocument.buyer_organization_id))
    if status is not None:
        query = query.where(EdoDocument.status == status)
    if after is not None:
        query = query.where(tuple_(EdoDocument.created_at, EdoDocument.edo_document_id) > after)
    query = query.order_by(EdoDocument.created_at, EdoDocument.edo_document_id).limit(limit)
    return (await session.scalars(query)).all()
