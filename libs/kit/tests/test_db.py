from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from vitrina_kit.db import transaction


async def backend_pids(sessions: async_sessionmaker[AsyncSession], count: int) -> set[int]:
    """Check ``count`` connections out at once, so the pool holds that many."""

    async def pid() -> int:
        async with transaction(sessions) as session:
            await asyncio.sleep(0.05)
            return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)

    return set(await asyncio.gather(*(pid() for _ in range(count))))


async def test_connections_the_server_closed_are_replaced_without_a_failed_unit_of_work(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    before = await backend_pids(sessions, 3)
    assert len(before) == 3
    # What a restart or a DBA's kill does to the pool, from a connection outside it.
    outside = create_async_engine(engine.url, poolclass=NullPool)
    async with outside.connect() as connection:
        await connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
            {"pids": list(before)},
        )
    await outside.dispose()
    await asyncio.sleep(0.2)  # the driver hears the server close the sockets

    after = await backend_pids(sessions, 3)

    assert after.isdisjoint(before)
