from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from integrations.main import SERVICE
from integrations.settings import IntegrationsSettings
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, migrated_database

OPERATOR_ACCOUNT = "40702810400000012345"


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
def make_client(
    database_url: str, token_issuer: TestIssuer
) -> Callable[..., AsyncIterator[httpx.AsyncClient]]:
    """The app with settings of the test's choosing, called by the operator's client."""

    async def make(**settings: object) -> AsyncIterator[httpx.AsyncClient]:
        app = build_app(
            SERVICE,
            IntegrationsSettings(database_url=database_url, **settings),  # type: ignore[arg-type]
            key_source=token_issuer.key_source,
        )
        async with app_client(app) as client:
            client.headers.update(token_issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR))
            yield client

    return make


@pytest.fixture
async def client(
    make_client: Callable[..., AsyncIterator[httpx.AsyncClient]],
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in make_client(operator_account=OPERATOR_ACCOUNT):
        yield client
