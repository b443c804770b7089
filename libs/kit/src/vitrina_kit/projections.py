"""Keeping a copy of another service's aggregates from its events (event-carried state).

Events arrive late, twice, or out of order (retries, replays, rebalances); the aggregate version
each carries decides. The check is part of the upsert itself, so two consumers racing on one
aggregate cannot put an older state over a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def upsert_if_newer(
    session: AsyncSession,
    model: type[DeclarativeBase],
    values: Mapping[str, Any],
    *,
    key: str,
    version: str = "version",
) -> bool:
    """Insert the row ``values`` describe, or update the one with the same ``key`` only if
    ``values[version]`` is newer than its; True if stored, False if what is held is as new."""
    statement = insert(model).values(dict(values))
    table = statement.table
    changes: dict[str, Any] = {name: statement.excluded[name] for name in values if name != key}
    if "updated_at" in table.c:
        # Column onupdate defaults do not fire in ON CONFLICT DO UPDATE.
        changes["updated_at"] = func.now()
    stored = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=[table.c[key]],
            set_=changes,
            where=table.c[version] < statement.excluded[version],
        ).returning(table.c[key])
    )
    return stored is not None
