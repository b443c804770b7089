from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitrina_kit import db


@pytest.fixture
async def engine(make_database: Callable[[str], str]) -> AsyncIterator[AsyncEngine]:
    """A fresh database holding the kit's tables and the ``effects`` table."""
    engine = db.create_engine(make_database("kit"), pool_size=5)
    async with engine.begin() as connection:
        await connection.run_sync(db.KitBase.metadata.create_all)
        # A table of the kind a service would own, for handlers and creations under test.
        await connection.execute(
            text("CREATE TABLE effects (id serial PRIMARY KEY, note text NOT NULL)")
        )
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return db.create_session_factory(engine)
