from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.main import SERVICE, create_app
from orders.settings import OrdersSettings
from vitrina_kit import db
from vitrina_kit.testing import app_client, migrated_database


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url, pool_size=2)
    yield db.create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(OrdersSettings(database_url=database_url))) as client:
        yield client
