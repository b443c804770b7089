"""Orders' copy of the catalog: newest version wins, whatever order events arrive in."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.catalog.projection import apply_product
from vitrina_contracts.events.catalog import PlanSnapshot, ProductPublished, ProductSnapshot
from vitrina_kit.db import transaction


def snapshot(
    product_id: uuid.UUID, *, version: int, price: str, status: str = "published"
) -> ProductSnapshot:
    example = ProductPublished.example().product
    plan: PlanSnapshot = example.plans[0].model_copy(update={"unit_price": Decimal(price)})
    return example.model_copy(
        update={"product_id": product_id, "version": version, "status": status, "plans": (plan,)}
    )


async def apply(sessions: async_sessionmaker[AsyncSession], product: ProductSnapshot) -> bool:
    async with transaction(sessions) as session:
        return await apply_product(session, product)


async def test_a_published_product_becomes_orderable(
    sessions: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> None:
    product_id = uuid.uuid4()
    assert (await client.get(f"/catalog/products/{product_id}")).status_code == 404

    assert await apply(sessions, snapshot(product_id, version=1, price="100.00"))

    response = await client.get(f"/catalog/products/{product_id}")
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert response.json()["plans"][0]["unit_price"] == "100.00"


async def test_a_newer_version_replaces_the_plans(
    sessions: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> None:
    product_id = uuid.uuid4()
    await apply(sessions, snapshot(product_id, version=1, price="100.00"))
    assert await apply(sessions, snapshot(product_id, version=2, price="120.00", status="retired"))

    body = (await client.get(f"/catalog/products/{product_id}")).json()
    assert (body["version"], body["status"]) == (2, "retired")
    assert [p["unit_price"] for p in body["plans"]] == ["120.00"]


async def test_a_late_or_repeated_event_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> None:
    product_id = uuid.uuid4()
    await apply(sessions, snapshot(product_id, version=3, price="300.00"))

    assert not await apply(sessions, snapshot(product_id, version=2, price="200.00"))
    assert not await apply(sessions, snapshot(product_id, version=3, price="999.00"))

    body = (await client.get(f"/catalog/products/{product_id}")).json()
    assert body["version"] == 3
    assert [p["unit_price"] for p in body["plans"]] == ["300.00"]
