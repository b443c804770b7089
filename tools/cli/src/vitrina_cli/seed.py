"""The demo catalog: a few products of the operator's own (a telecom operator sells its cloud,
backup and 1C services beside its partners'), created through the catalog's own API with the
operator's access token, submitted for review and approved (the operator moderates the
marketplace, its own products included).

Seeding is repeatable: each product is created with a fixed Idempotency-Key, so on a kept
database the catalog replays its first answer instead of creating a second product. The ids
are written to ``seed.json`` in the data folder for people and tests to find the products.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx

from vitrina_cli.identity import basic_credentials

DEV_OPERATOR_CLIENT_ID = "vitrina-operator"
DEV_OPERATOR_CLIENT_SECRET = "dev-operator-secret"  # noqa: S105 - identity's documented dev default

DEMO_PRODUCTS: tuple[dict[str, Any], ...] = (
    {
        "slug": "cloud-server",
        "name": "Облачный сервер",
        "short_description": (
            "Виртуальный сервер в дата-центре оператора: SSD-диски, публичный IPv4, "
            "ежедневные снимки. Разворачивается за минуту."
        ),
        "category": "cloud-infrastructure",
        "plans": [
            {
                "code": "start",
                "name": "Старт: 2 vCPU, 4 ГБ RAM, 40 ГБ SSD",
                "billing_period": "month",
                "pricing_unit": "unit",
                "unit_price": "1490.00",
                "vat_mode": "standard",
                "min_quantity": 1,
                "max_quantity": 20,
                "trial_days": 7,
                "public": True,
            },
            {
                "code": "flex",
                "name": "Гибкий: оплата за каждый vCPU",
                "billing_period": "month",
                "pricing_unit": "vcpu",
                "unit_price": "590.00",
                "vat_mode": "standard",
                "min_quantity": 2,
                "max_quantity": 64,
                "trial_days": 0,
                "public": True,
            },
        ],
    },
    {
        "slug": "cloud-backup",
        "name": "Резервное копирование",
        "short_description": (
            "Резервные копии серверов и рабочих станций в хранилище оператора; "
            "восстановление файлов и целых машин."
        ),
        "category": "backup",
        "plans": [
            {
                "code": "storage",
                "name": "Хранилище копий, за 1 ГБ",
                "billing_period": "month",
                "pricing_unit": "gb",
                "unit_price": "3.50",
                "vat_mode": "standard",
                "min_quantity": 100,
                "max_quantity": 100_000,
                "trial_days": 14,
                "public": True,
            },
            {
                "code": "agent",
                "name": "Агент резервного копирования для сервера",
                "billing_period": "month",
                "pricing_unit": "unit",
                "unit_price": "390.00",
                "vat_mode": "standard",
                "min_quantity": 1,
                "max_quantity": 500,
                "trial_days": 14,
                "public": True,
            },
        ],
    },
    {
        "slug": "1c-accounting-cloud",
        "name": "1С:Бухгалтерия в облаке",
        "short_description": (
            "1С:Бухгалтерия 8 через браузер: обновления, резервные копии и обмен с банком "
            "включены. Программа из реестра российского ПО — без НДС."
        ),
        "category": "business-software",
        "plans": [
            {
                "code": "basic",
                "name": "Базовая: одна организация, один пользователь",
                "billing_period": "month",
                "pricing_unit": "organization",
                "unit_price": "1290.00",
                "vat_mode": "exempt",
                "min_quantity": 1,
                "max_quantity": 1,
                "trial_days": 30,
                "public": True,
            },
            {
                "code": "prof",
                "name": "ПРОФ: за пользователя",
                "billing_period": "month",
                "pricing_unit": "seat",
                "unit_price": "1890.00",
                "vat_mode": "exempt",
                "min_quantity": 1,
                "max_quantity": 100,
                "trial_days": 30,
                "public": True,
            },
        ],
    },
)


@dataclass(frozen=True)
class SeededProduct:
    slug: str
    id: str
    name: str
    created: bool
    """False when the product was already there (a kept database)."""
    owner_id: str


@dataclass(frozen=True)
class SeedResult:
    owner_id: str
    """The organization owning the demo products (the operator)."""
    products: list[SeededProduct]
    not_in_orders: list[str]
    """Slugs orders had not received when seeding gave up waiting."""

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n", "utf-8")


class SeedError(RuntimeError):
    """The catalog refused the demo data."""


def idempotency_key(product: dict[str, Any]) -> str:
    """Fixed per product, so a repeated seed replays the first creation instead of a second one."""
    return f"vitrina-demo-seed-{product['slug']}"


def known_products(path: Path) -> dict[str, str]:
    """Slug -> id from an earlier run's ``seed.json`` (empty if there is none)."""
    try:
        saved = json.loads(path.read_text("utf-8"))
        return {item["slug"]: item["id"] for item in saved["products"]}
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return {}


def operator_authorization(
    client: httpx.Client,
    identity_url: str,
    *,
    client_id: str = DEV_OPERATOR_CLIENT_ID,
    client_secret: str = DEV_OPERATOR_CLIENT_SECRET,
) -> dict[str, str]:
    """An ``Authorization`` header with an operator access token (client credentials grant)."""
    response = client.post(
        f"{identity_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_credentials(client_id, client_secret)},
    )
    if response.status_code != HTTPStatus.OK:
        raise SeedError(f"no operator token from identity: {_describe(response)}")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def seed_demo_catalog(
    client: httpx.Client,
    *,
    authorization: dict[str, str],
    catalog_url: str,
    orders_url: str,
    known: dict[str, str],
    products: tuple[dict[str, Any], ...] = DEMO_PRODUCTS,
    projection_timeout: float = 30.0,
) -> SeedResult:
    """Create and publish ``products`` in the catalog, then wait until orders has them all."""
    seeded = [
        _create_and_publish(client, catalog_url, product, authorization, known.get(product["slug"]))
        for product in products
    ]
    missing = _wait_for_orders(
        client, orders_url, seeded, authorization, timeout=projection_timeout
    )
    owner = seeded[0].owner_id if seeded else ""
    return SeedResult(owner_id=owner, products=seeded, not_in_orders=missing)


def _create_and_publish(
    client: httpx.Client,
    catalog_url: str,
    product: dict[str, Any],
    organization: dict[str, str],
    known_id: str | None,
) -> SeededProduct:
    response = client.post(
        f"{catalog_url}/products",
        json=product,
        headers={**organization, "Idempotency-Key": idempotency_key(product)},
    )
    if response.status_code == HTTPStatus.CREATED:
        product_id = str(response.json()["id"])
        owner_id = str(response.json()["partner_id"])
        created = "idempotent-replayed" not in response.headers
    elif _problem_code(response) in {"slug_taken", "idempotency_key_reused"} and known_id:
        # The demo data changed since it was first seeded, or the product was made by hand:
        # keep what is there rather than fail.
        product_id, created, owner_id = known_id, False, ""
    else:
        raise SeedError(f"creating {product['slug']!r}: {_describe(response)}")

    url = f"{catalog_url}/products/{product_id}"
    owner_id = _publish(client, url, organization) or owner_id
    return SeededProduct(
        slug=product["slug"],
        id=product_id,
        name=product["name"],
        created=created,
        owner_id=owner_id,
    )


def _publish(client: httpx.Client, url: str, organization: dict[str, str]) -> str:
    """Submit and approve the product; the owner's id, or "" if an earlier run published it.

    A step that answers 409 is checked against the product's status rather than assumed done:
    an earlier run may have stopped between submitting and approving.
    """
    for step, done_after in (("submit", {"submitted", "published"}), ("approve", {"published"})):
        response = client.post(f"{url}/{step}", headers=organization)
        if response.status_code == HTTPStatus.OK:
            continue
        current = client.get(url, headers=organization)
        status = current.json().get("status") if current.status_code == HTTPStatus.OK else None
        if response.status_code != HTTPStatus.CONFLICT or status not in done_after:
            raise SeedError(f"publishing {url} ({step}): {_describe(response)}")
        if status == "published":
            return ""
    return str(response.json()["partner_id"])


def _wait_for_orders(
    client: httpx.Client,
    orders_url: str,
    seeded: list[SeededProduct],
    authorization: dict[str, str],
    *,
    timeout: float,
) -> list[str]:
    """Slugs of the products orders still does not know after ``timeout`` seconds."""
    waiting = {product.id: product.slug for product in seeded}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for product_id in list(waiting):
            response = client.get(
                f"{orders_url}/catalog/products/{product_id}", headers=authorization
            )
            if response.status_code == HTTPStatus.OK:
                del waiting[product_id]
        if waiting:
            time.sleep(0.2)
    return sorted(waiting.values())


def _problem_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return str(code) if code is not None else None


def _describe(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.text[:500]}"
