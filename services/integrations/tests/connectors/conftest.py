from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from vitrina_simulators.edo_operator import Client, SimulatorConfig, running

from integrations.main import SERVICE
from integrations.settings import IntegrationsSettings
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, migrated_database

OPERATOR_BOX = "2BM-7704123450-770401001-000000000000001"
BUYER_BOX = "2BM-5012345672-501201001-000000000000042"


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url, pool_size=2)
    yield db.create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def settings(database_url: str) -> IntegrationsSettings:
    return IntegrationsSettings(database_url=database_url)


@pytest.fixture
async def client(
    settings: IntegrationsSettings, token_issuer: TestIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(SERVICE, settings, key_source=token_issuer.key_source)
    async with app_client(app) as client:
        yield client


@pytest.fixture
def operator(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR)


@pytest.fixture
def business_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def business(token_issuer: TestIssuer, business_id: uuid.UUID) -> dict[str, str]:
    return token_issuer.headers(business_id, OrganizationKind.BUSINESS)


@pytest.fixture
def other_business(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(uuid.uuid4(), OrganizationKind.BUSINESS)


@pytest.fixture
def edo_simulator() -> Iterator[str]:
    """The EDO operator simulator as a real HTTP server; short-lived tokens for the tests."""
    config = SimulatorConfig(
        clients=[
            Client("vitrina", "operator-secret", OPERATOR_BOX),
            Client("romashka", "buyer-secret", BUYER_BOX),
        ],
        delivery_delay_seconds=0.2,
        access_token_lifetime_seconds=2,
        refresh_token_lifetime_seconds=3600,
    )
    with running(config) as url:
        yield url
