from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from catalog.main import SERVICE
from catalog.settings import CatalogSettings
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, migrated_database


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
async def client(database_url: str, token_issuer: TestIssuer) -> AsyncIterator[httpx.AsyncClient]:
    settings = CatalogSettings(database_url=database_url, max_request_body_bytes=64 * 1024)
    app = build_app(SERVICE, settings, key_source=token_issuer.key_source)
    async with app_client(app) as client:
        yield client


@pytest.fixture
def partner_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def partner(token_issuer: TestIssuer, partner_id: uuid.UUID) -> dict[str, str]:
    """Headers of a partner organization's client making requests."""
    return token_issuer.headers(partner_id, OrganizationKind.PARTNER)


@pytest.fixture
def other_partner(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(uuid.uuid4(), OrganizationKind.PARTNER)


@pytest.fixture
def operator(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR)


@pytest.fixture
def business(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(uuid.uuid4(), OrganizationKind.BUSINESS)


def product_body(**overrides: object) -> dict[str, object]:
    """A valid product draft; override any field."""
    body: dict[str, object] = {
        "slug": f"cloud-server-{uuid.uuid4().hex[:8]}",
        "name": "Облачный сервер",
        "short_description": "Виртуальные серверы в дата-центре оператора.",
        "category": "cloud",
        "plans": [
            {
                "code": "start",
                "name": "Старт",
                "pricing_unit": "vcpu",
                "unit_price": "1250.00",
                "min_quantity": 1,
                "max_quantity": 64,
            },
            {
                "code": "backup",
                "name": "Резервное копирование",
                "pricing_unit": "gb",
                "unit_price": "3.50",
                "vat_mode": "exempt",
                "trial_days": 14,
            },
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
def new_product() -> Callable[..., dict[str, object]]:
    return product_body
