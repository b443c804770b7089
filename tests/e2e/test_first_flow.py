"""The first flow across two services, every piece real: catalog and orders as processes,
the broker, PostgreSQL. A product published through catalog's API appears in orders."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx
import pytest

import catalog.main
import orders.main
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.local import free_port
from vitrina_kit.testing import ServiceProcess, TestIssuer, migrated_database, wait_until

pytestmark = pytest.mark.slow


def product_body() -> dict[str, object]:
    return {
        "slug": f"vpbx-{uuid.uuid4().hex[:8]}",
        "name": "Виртуальная АТС",
        "category": "communications",
        "plans": [
            {"code": "office", "name": "Офис", "pricing_unit": "seat", "unit_price": "390.00"},
            {
                "code": "pro",
                "name": "Про",
                "pricing_unit": "seat",
                "unit_price": "590.00",
                "trial_days": 30,
            },
        ],
    }


async def test_a_published_product_appears_in_orders(
    make_database: Callable[[str], str],
    start_service: Callable[..., ServiceProcess],
    token_issuer: TestIssuer,
) -> None:
    catalog_api = start_service(
        "catalog",
        "run",
        port=free_port(),
        database_url=migrated_database(make_database, catalog.main.SERVICE),
    )
    orders_api = start_service(
        "orders",
        "run",
        port=free_port(),
        database_url=migrated_database(make_database, orders.main.SERVICE),
    )
    partner_id = uuid.uuid4()
    partner = token_issuer.headers(partner_id, OrganizationKind.PARTNER)
    business = token_issuer.headers(uuid.uuid4(), OrganizationKind.BUSINESS)
    operator = token_issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR)

    async with httpx.AsyncClient(timeout=10) as http:
        created = await http.post(
            f"{catalog_api.base_url}/products",
            json=product_body(),
            headers={**partner, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert created.status_code == 201, created.text
        product = created.json()
        submitted = await http.post(
            f"{catalog_api.base_url}/products/{product['id']}/submit", headers=partner
        )
        assert submitted.status_code == 200, submitted.text
        correlation = f"flow-{uuid.uuid4()}"
        published = await http.post(
            f"{catalog_api.base_url}/products/{product['id']}/approve",
            headers={**operator, "X-Correlation-Id": correlation},
        )
        assert published.status_code == 200, published.text
        assert published.headers["x-correlation-id"] == correlation

        async def in_orders() -> httpx.Response | None:
            response = await http.get(
                f"{orders_api.base_url}/catalog/products/{product['id']}", headers=business
            )
            return response if response.status_code == 200 else None

        seen = await wait_until(in_orders, timeout=30, message="the product in orders")
        projected = seen.json()
        assert projected["version"] == 1
        assert projected["status"] == "published"
        assert projected["partner_id"] == str(partner_id)
        assert [(p["code"], p["unit_price"], p["trial_days"]) for p in projected["plans"]] == [
            ("office", "390.00", 0),
            ("pro", "590.00", 30),
        ]

        backlog = (await http.get(f"{catalog_api.base_url}/ops/outbox", headers=operator)).json()
        assert backlog["pending"] == 0
        assert backlog["parked"] == 0

    # One correlation id from the operator's approval, through the outbox and the broker, to the
    # handler in orders: both services' JSON logs can be joined on it.
    publish_request = _log_entries(catalog_api, event="request handled", correlation_id=correlation)
    assert [(e["http_method"], e["http_status"]) for e in publish_request] == [("POST", 200)]

    async def handled() -> list[dict[str, object]]:  # logged just after the commit
        return _log_entries(orders_api, event="event handled", correlation_id=correlation)

    entries = await wait_until(handled, timeout=5, message="orders' log line")
    assert [e["event_type"] for e in entries] == ["ru.vitrina.catalog.product.published"]


def _log_entries(process: ServiceProcess, **fields: object) -> list[dict[str, object]]:
    entries = [json.loads(line) for line in process.logs().splitlines()]
    return [e for e in entries if all(e.get(k) == v for k, v in fields.items())]
