from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.onec.models import OneCDocument
from vitrina_kit.pagination import Position


async def get(
    session: AsyncSession, document_id: uuid.UUID, *, lock: bool = False
) -> OneCDocument | None:
    return await session.get(OneCDocument, document_id, with_for_update=lock)


async def page(
    session: AsyncSession, *, status: str | None, after: Position | None, limit: int
) -> Sequence[OneCDocument]:
    """Oldest first, so the operator's paging is stable while new documents arrive."""
    query = select(OneCDocument)
    if status is not None:
        query = query.where(OneCDocument.status == status)
    if after is not None:
        query = query.where(tuple_(OneCDocument.created_at, OneCDocument.document_id) > after)
    query = query.order_by(OneCDocument.created_at, OneCDocument.document_id).limit(limit)
    return (await session.scalars(query)).all()
