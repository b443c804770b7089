"""The public storefront over a real PostgreSQL: Russian search, filters, sorting and cursors."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from vitrina_kit.testing.database import execute

Body = Callable[..., dict[str, Any]]


def plan(code: str, price: str, unit: str = "seat", **extra: Any) -> dict[str, Any]:
    return {"code": code, "name": code.title(), "pricing_unit": unit, "unit_price": price, **extra}


async def publish(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    body: dict[str, Any],
) -> dict[str, Any]:
    created = await client.post(
        "/products", json=body, headers={**partner, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]
    for action, headers in (("submit", partner), ("approve", operator)):
        response = await client.post(f"/products/{product_id}/{action}", headers=headers)
        assert response.status_code == 200, response.text
    product: dict[str, Any] = response.json()
    return product


async def browse(client: httpx.AsyncClient, expect: int = 200, **params: Any) -> dict[str, Any]:
    response = await client.get("/storefront/products", params=params)
    assert response.status_code == expect, response.text
    page: dict[str, Any] = response.json()
    return page


def slugs(page: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in page["items"]]


async def test_anyone_finds_a_cloud_server_by_asking_for_the_cloud(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Body,
) -> None:
    await publish(client, partner, operator, new_product(slug="vps", name="Облачный сервер"))
    await publish(
        client,
        partner,
        operator,
        new_product(
            slug="backup",
            name="Резервное копирование",
            short_description="Копии ваших серверов в облаке оператора.",
        ),
    )
    await publish(
        client,
        partner,
        operator,
        new_product(
            slug="antivirus",
            name="Антивирус для рабочих станций",
            short_description="Защита компьютеров сотрудников.",
            category="antivirus",
            tags=["безопасность"],
        ),
    )

    # No token: the storefront is public. Morphology: облако ~ облачный, облаке.
    found = await browse(client, q="облако")
    assert slugs(found) == ["vps", "backup"]  # a match in the name outranks the description
    assert slugs(await browse(client, q="облачный")) == ["vps", "backup"]
    assert slugs(await browse(client, q="серверы")) == ["vps", "backup"]
    assert slugs(await browse(client, q="серв")) == ["vps", "backup"]  # typed halfway
    assert slugs(await browse(client, q="облачное резервное копирование")) == ["backup"]
    assert slugs(await browse(client, q="безопасности")) == ["antivirus"]  # by a tag
    assert slugs(await browse(client, q="антивирусы")) == ["antivirus"]
    assert slugs(await browse(client, q="видеонаблюдение")) == []
    # Stop words only, or punctuation: nothing to search by, and no error either.
    assert slugs(await browse(client, q="и для")) == []
    assert slugs(await browse(client, q="'\\:*&|!()")) == []


async def test_only_published_products_are_listed_and_retired_ones_stay_readable(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Body,
) -> None:
    on_sale = await publish(client, partner, operator, new_product(slug="on-sale"))
    retired = await publish(client, partner, operator, new_product(slug="retired"))
    response = await client.post(f"/products/{retired['id']}/retire", headers=partner)
    assert response.status_code == 200
    draft = await client.post(
        "/products",
        json=new_product(slug="draft"),
        headers={**partner, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert draft.status_code == 201
    # A published product being revised shows its live revision, not the proposal.
    revising = await client.patch(
        f"/products/{on_sale['id']}", json={"name": "Черновик названия"}, headers=partner
    )
    assert revising.status_code == 200

    page = await browse(client)
    assert slugs(page) == ["on-sale"]
    assert page["items"][0]["name"] == "Облачный сервер"
    assert slugs(await browse(client, q="черновик")) == []

    detail = (await client.get("/storefront/products/retired")).json()
    assert (detail["status"], detail["orderable"]) == ("retired", False)
    on_sale_detail = (await client.get("/storefront/products/on-sale")).json()
    assert (on_sale_detail["status"], on_sale_detail["orderable"]) == ("published", True)
    missing = await client.get("/storefront/products/draft")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "product_not_found"


async def test_a_product_page_shows_public_plans_only(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Body,
) -> None:
    body = new_product(
        slug="crm",
        name="CRM для отдела продаж",
        category="crm",
        description="Воронка продаж, сделки, звонки из карточки клиента.",
        tags=["crm", "продажи"],
        support={"email": "help@crm.example", "hours": "круглосуточно"},
        plans=[
            plan("team", "590.00", trial_days=14),
            plan("corporate", "450.00", public=False, min_quantity=100),
        ],
    )
    await publish(client, partner, operator, body)
    detail = (await client.get("/storefront/products/crm")).json()
    assert [p["code"] for p in detail["plans"]] == ["team"]
    assert detail["plans"][0]["unit_price"] == "590.00"
    assert detail["description"] == body["description"]
    assert detail["support"]["email"] == "help@crm.example"
    assert detail["published_at"] is not None
    # The private plan neither quotes the "from" price nor passes a filter.
    (item,) = (await browse(client))["items"]
    assert item["from_price"] == {
        "unit_price": "590.00",
        "pricing_unit": "seat",
        "billing_period": "month",
        "vat_mode": "standard",
    }
    assert item["has_trial"] is True
    assert slugs(await browse(client, price_max="500")) == []


async def test_filters_combine_on_one_and_the_same_plan(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    other_partner: dict[str, str],
    operator: dict[str, str],
    new_product: Body,
) -> None:
    vps = await publish(
        client,
        partner,
        operator,
        new_product(
            slug="vps",
            category="cloud",
            plans=[plan("vcpu", "590.00", "vcpu"), plan("storage", "3.50", "gb", trial_days=30)],
        ),
    )
    await publish(
        client,
        other_partner,
        operator,
        new_product(
            slug="video",
            category="cloud-video",
            plans=[plan("camera", "350.00", "unit", trial_days=7)],
        ),
    )
    await publish(
        client,
        other_partner,
        operator,
        new_product(slug="office", category="office", plans=[plan("seat", "290.00")]),
    )

    # A top-level category includes its subcategories.
    assert slugs(await browse(client, category="data-center-cloud")) == ["vps"]
    assert slugs(await browse(client, category="cloud-video", sort="name")) == ["video"]
    assert slugs(await browse(client, partner_id=vps["partner_id"])) == ["vps"]
    assert slugs(await browse(client, pricing_unit="vcpu")) == ["vps"]
    assert slugs(await browse(client, has_trial=True, sort="price")) == ["vps", "video"]
    assert slugs(await browse(client, price_min="300", price_max="600", sort="price")) == [
        "video",
        "vps",
    ]
    # The vCPU plan costs 590 but has no trial; the trial plan costs 3.50: no single plan fits.
    assert slugs(await browse(client, has_trial=True, price_min="500")) == []
    # from_price quotes the cheapest plan that passes the filters.
    (item,) = (await browse(client, pricing_unit="vcpu"))["items"]
    assert item["from_price"]["unit_price"] == "590.00"
    (item,) = (await browse(client, category="cloud"))["items"]
    assert (item["from_price"]["unit_price"], item["from_price"]["pricing_unit"]) == (
        "3.50",
        "gb",
    )


async def test_sorting(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Body,
) -> None:
    for slug, name, price in (
        ("bb", "Бухгалтерия в облаке", "900.00"),
        ("aa", "Антивирус", "120.00"),
        ("vv", "Видеонаблюдение", "350.00"),
    ):
        await publish(
            client, partner, operator, new_product(slug=slug, name=name, plans=[plan("p", price)])
        )
    assert slugs(await browse(client)) == ["vv", "aa", "bb"]  # newest first by default
    assert slugs(await browse(client, sort="name")) == ["aa", "bb", "vv"]
    assert slugs(await browse(client, sort="price")) == ["aa", "vv", "bb"]
    assert slugs(await browse(client, sort="-price")) == ["bb", "vv", "aa"]


async def test_pages_neither_repeat_nor_skip_a_product_while_others_are_published(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Body,
) -> None:
    names = ["Альфа", "Бета", "Гамма", "Дельта", "Ипсилон", "Каппа", "Лямбда", "Омега"]
    for index, name in enumerate(names):
        await publish(
            client,
            partner,
            operator,
            new_product(
                slug=f"p{index}", name=f"{name} облако", plans=[plan("p", f"{100 + index}.00")]
            ),
        )
    for sort in ("name", "price", "-price", "newest", "relevance"):
        seen: list[str] = []
        page = await browse(client, q="облако", sort=sort, limit=3)
        while True:
            seen += slugs(page)
            # Meanwhile new products appear, before and after the page's position.
            await publish(
                client,
                partner,
                operator,
                new_product(
                    slug=f"new-{uuid.uuid4().hex[:8]}",
                    name=f"{'Аа' if len(seen) % 2 else 'Яя'} облако {sort}",
                    plans=[plan("p", "50.00" if len(seen) % 2 else "999.00")],
                ),
            )
            if page["next_cursor"] is None:
                break
            page = await browse(client, q="облако", sort=sort, limit=3, cursor=page["next_cursor"])
        originals = [slug for slug in seen if not slug.startswith("new-")]
        assert sorted(originals) == [f"p{index}" for index in range(len(names))], sort
        assert len(seen) == len(set(seen)), sort


async def test_a_scheduled_price_is_the_price_from_its_day(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    new_product: Body,
    database_url: str,
) -> None:
    product = await publish(
        client, partner, operator, new_product(slug="vps", plans=[plan("p", "1000.00")])
    )
    plan_id = product["plans"][0]["id"]
    effective_on = (datetime.now(UTC) + timedelta(days=45)).date()
    response = await client.post(
        f"/products/{product['id']}/plans/{plan_id}/price-changes",
        json={"unit_price": "1200.00", "effective_on": effective_on.isoformat()},
        headers=partner,
    )
    assert response.status_code == 200, response.text
    detail = (await client.get("/storefront/products/vps")).json()
    assert (detail["plans"][0]["unit_price"], detail["plans"][0]["next_unit_price"]) == (
        "1000.00",
        "1200.00",
    )
    assert slugs(await browse(client, price_max="1000")) == ["vps"]

    # Time passes: the announced day comes (the row itself is not rewritten).
    await execute(
        database_url,
        "UPDATE plans SET next_price_effective_on = current_date - 1 WHERE id = :id",
        id=uuid.UUID(plan_id),
    )
    detail = (await client.get("/storefront/products/vps")).json()
    assert detail["plans"][0]["unit_price"] == "1200.00"
    assert detail["plans"][0]["next_unit_price"] is None
    assert slugs(await browse(client, price_max="1000")) == []
    assert (await browse(client))["items"][0]["from_price"]["unit_price"] == "1200.00"
    mine = (await client.get(f"/products/{product['id']}", headers=partner)).json()
    assert mine["plans"][0]["unit_price"] == "1200.00"


async def test_bad_requests_are_problems(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"sort": "relevance"}, "relevance_needs_query"),
        ({"price_min": "100", "price_max": "10"}, "price_range_inverted"),
        ({"category": "no-such-category"}, "unknown_category"),
        ({"cursor": "garbage"}, "invalid_cursor"),
        ({"price_min": "-1"}, "invalid_request"),
        ({"price_max": "0.001"}, "invalid_request"),
        ({"sort": "cheapest"}, "invalid_request"),
        ({"limit": 101}, "invalid_request"),
        ({"pricing_unit": "kg"}, "invalid_request"),
        ({"q": "x" * 201}, "invalid_request"),
    ]
    for params, code in cases:
        response = await client.get("/storefront/products", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, params
