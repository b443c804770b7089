from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from identity.main import SERVICE, create_app
from identity.settings import IdentitySettings
from identity.testing import (
    OPERATOR_ID,
    OPERATOR_SECRET,
    PARTNER_BODY,
    Clock,
    Member,
    bearer,
    get_token,
    register_member,
)
from vitrina_kit.testing import app_client, migrated_database


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str) -> IdentitySettings:
    return IdentitySettings(database_url=database_url, max_request_body_bytes=64 * 1024)


@pytest.fixture
async def client(settings: IdentitySettings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """Identity's API in this process, over its own migrated database, on the test's clock."""
    async with app_client(create_app(settings, clock=clock)) as client:
        yield client


@pytest.fixture
async def operator(client: httpx.AsyncClient) -> dict[str, str]:
    """Headers of the bootstrap operator client (every operator scope)."""
    return bearer(await get_token(client, OPERATOR_ID, OPERATOR_SECRET))


@pytest.fixture
async def business(client: httpx.AsyncClient, operator: dict[str, str]) -> Member:
    """An active business with a client holding identity:read and identity:write."""
    return await register_member(client, operator)


@pytest.fixture
async def partner(client: httpx.AsyncClient, operator: dict[str, str]) -> Member:
    """An active partner with a client holding identity:read and identity:write."""
    return await register_member(client, operator, **PARTNER_BODY)
