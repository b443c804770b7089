from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from identity.oauth.models import RateLimitWindow


async def hit(session: AsyncSession, bucket: str, window_start: datetime) -> int:
    """Count one request in the bucket's window; how many it has now. One statement, so
    concurrent requests of several replicas each get their own count."""
    table = RateLimitWindow.__table__
    statement = (
        insert(RateLimitWindow)
        .values(bucket=bucket, window_start=window_start, hits=1)
        .on_conflict_do_update(
            index_elements=[RateLimitWindow.bucket, RateLimitWindow.window_start],
            set_={"hits": table.c.hits + 1},
        )
        .returning(RateLimitWindow.hits)
    )
    hits: int = (await session.execute(statement)).scalar_one()
    return hits


async def hits(session: AsyncSession, bucket: str, window_start: datetime) -> int:
    """How many requests the bucket's window has counted, without counting one more."""
    statement = select(RateLimitWindow.hits).where(
        RateLimitWindow.bucket == bucket, RateLimitWindow.window_start == window_start
    )
    return (await session.execute(statement)).scalar_one_or_none() or 0


async def forget_before(session: AsyncSession, before: datetime) -> None:
    """Drop the counts of windows that ended: they limit nothing any more."""
    await session.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < before))
