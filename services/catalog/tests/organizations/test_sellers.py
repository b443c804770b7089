"""The storefront names sellers from identity's events (over a real PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.organizations.projection import apply_organization
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationSnapshot
from vitrina_kit import db


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    yield db.create_session_factory(engine)
    await engine.dispose()


def organization(organization_id: uuid.UUID, **changes: Any) -> OrganizationSnapshot:
    example = OrganizationRegistered.example().organization
    return example.model_copy(update={"organization_id": organization_id, **changes})


async def apply(
    sessions: async_sessionmaker[AsyncSession], snapshot: OrganizationSnapshot, version: int
) -> bool:
    async with db.transaction(sessions) as session:
        return await apply_organization(session, snapshot, version=version)


async def test_the_storefront_names_the_seller_by_its_newest_name(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    partner: dict[str, str],
    partner_id: uuid.UUID,
    operator: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
) -> None:
    created = await client.post(
        "/products",
        json=new_product(slug="vps"),
        headers={**partner, "Idempotency-Key": str(uuid.uuid4())},
    )
    product_id = created.json()["id"]
    await client.post(f"/products/{product_id}/submit", headers=partner)
    await client.post(f"/products/{product_id}/approve", headers=operator)

    # Identity's event has not arrived yet: the product is listed, its seller unnamed.
    (item,) = (await client.get("/storefront/products")).json()["items"]
    assert (item["partner_id"], item["partner_name"]) == (str(partner_id), None)

    assert await apply(
        sessions, organization(partner_id, kind="partner", short_name="ООО «Норд»"), 2
    )
    # A late, older event changes nothing; a repeated one neither.
    assert not await apply(
        sessions, organization(partner_id, kind="partner", short_name="Старое имя"), 1
    )
    assert not await apply(sessions, organization(partner_id, kind="partner"), 2)
    (item,) = (await client.get("/storefront/products")).json()["items"]
    assert item["partner_name"] == "ООО «Норд»"
    page = (await client.get("/storefront/products/vps")).json()
    assert page["partner_name"] == "ООО «Норд»"

    # Without a short name, the legal name.
    assert await apply(sessions, organization(partner_id, kind="partner", short_name=None), 3)
    page = (await client.get("/storefront/products/vps")).json()
    assert page["partner_name"] == OrganizationRegistered.example().organization.legal_name


async def test_buyers_are_not_kept(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert not await apply(sessions, organization(uuid.uuid4(), kind="business"), 1)
