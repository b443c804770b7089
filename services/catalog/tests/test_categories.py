"""The seeded taxonomy and products' references to it, over a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx


async def test_the_taxonomy_is_public_with_russian_names_and_subcategories(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/categories")  # no token: the storefront's shelves

    assert response.status_code == 200, response.text
    tree = {root["slug"]: root for root in response.json()}
    assert [root["name"] for root in response.json()][:6] == [
        "Дата-центр и облако",
        "Информационная безопасность",
        "Связь и коммуникации",
        "Видеонаблюдение",
        "Бизнес-приложения",
        "1С и бухгалтерия",
    ]
    cloud = {child["slug"]: child["name"] for child in tree["data-center-cloud"]["children"]}
    assert cloud["backup"] == "Резервное копирование"
    children = [c["slug"] for c in tree["business-software"]["children"]]
    assert "project-management" in children


async def test_a_product_needs_a_category_that_exists(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    new_product: Callable[..., dict[str, Any]],
) -> None:
    unknown = await client.post(
        "/products",
        json=new_product(category="no-such-shelf"),
        headers={**partner, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_category"

    created = await client.post(
        "/products",
        json=new_product(category="backup"),
        headers={**partner, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, created.text
    url = f"/products/{created.json()['id']}"
    moved = await client.patch(url, json={"category": "no-such-shelf"}, headers=partner)
    assert moved.status_code == 422
    assert moved.json()["code"] == "unknown_category"
    assert (await client.get(url, headers=partner)).json()["category"] == "backup"
