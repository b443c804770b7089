from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.main import SERVICE
from orders.settings import OrdersSettings
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, migrated_database


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url, pool_size=2)
    yield db.create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def client(database_url: str, token_issuer: TestIssuer) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(
        SERVICE, OrdersSettings(database_url=database_url), key_source=token_issuer.key_source
    )
    async with app_client(app) as client:
        # A business's client, the usual reader of what can be ordered.
        client.headers.update(token_issuer.headers(uuid.uuid4(), OrganizationKind.BUSINESS))
        yield client
