from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from catalog.main import SERVICE, create_app
from catalog.settings import CatalogSettings
from vitrina_kit.testing import app_client, migrated_database


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = CatalogSettings(database_url=database_url, max_request_body_bytes=64 * 1024)
    async with app_client(create_app(settings)) as client:
        yield client


@pytest.fixture
def partner() -> dict[str, str]:
    """Headers of a partner organization making requests."""
    return {"X-Vitrina-Organization": str(uuid.uuid4())}


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
