"""The demo seed against a fake catalog and orders that behave like the real APIs do:
Idempotency-Key replays, 409 on a transition from the wrong state, and orders learning products
only later."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog.products.schemas import ProductCreate
from vitrina_cli import seed


@dataclass
class FakeMarketplace:
    """Catalog's product endpoints and orders' projection, in memory."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    in_orders: set[str] = field(default_factory=set)
    orders_lag_polls: int = 0
    """How many orders lookups of a product answer 404 before it arrives there."""
    orders_polls: dict[str, int] = field(default_factory=dict)
    creations: int = 0
    refuse_approvals: bool = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == "orders":
            product_id = path.rsplit("/", 1)[-1]
            self.orders_polls[product_id] = self.orders_polls.get(product_id, 0) + 1
            if (
                product_id in self.in_orders
                and self.orders_polls[product_id] > self.orders_lag_polls
            ):
                return httpx.Response(200, json={"product_id": product_id})
            return httpx.Response(404, json={"code": "catalog_product_not_found"})
        assert request.headers["Authorization"] == AUTHORIZATION["Authorization"]
        if request.method == "POST" and path == "/products":
            return self._create(request)
        product_id = path.split("/")[2]
        if request.method == "POST" and path.endswith("/submit"):
            product = self.products[product_id]
            if product["status"] != "draft":
                return httpx.Response(409, json={"code": "product_cannot_be_submitted"})
            product["status"] = "submitted"
            return httpx.Response(200, json=product)
        if request.method == "POST" and path.endswith("/approve"):
            product = self.products[product_id]
            if product["status"] != "submitted" or self.refuse_approvals:
                return httpx.Response(409, json={"code": "product_cannot_be_approved"})
            product["status"] = "published"
            self.in_orders.add(product_id)
            return httpx.Response(200, json=product)
        return httpx.Response(200, json=self.products[product_id])

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        key = request.headers["Idempotency-Key"]
        if key in self.idempotency:
            first_body, first_response = self.idempotency[key]
            if first_body != body:
                return httpx.Response(422, json={"code": "idempotency_key_reused"})
            return httpx.Response(201, json=first_response, headers={"Idempotent-Replayed": "true"})
        if any(p["slug"] == body["slug"] for p in self.products.values()):
            return httpx.Response(409, json={"code": "slug_taken"})
        self.creations += 1
        product = {
            **body,
            "id": str(uuid.uuid4()),
            "status": "draft",
            "partner_id": str(OPERATOR_ID),
        }
        self.products[product["id"]] = product
        self.idempotency[key] = (body, dict(product))
        return httpx.Response(201, json=product)


AUTHORIZATION = {"Authorization": "Bearer operator-token"}
OPERATOR_ID = uuid.uuid4()


@pytest.fixture
def market() -> FakeMarketplace:
    return FakeMarketplace()


def _seed(market: FakeMarketplace, **options: Any) -> seed.SeedResult:
    with httpx.Client(transport=httpx.MockTransport(market.handle)) as client:
        return seed.seed_demo_catalog(
            client,
            authorization=AUTHORIZATION,
            catalog_url="http://catalog",
            orders_url="http://orders",
            known=options.pop("known", {}),
            projection_timeout=options.pop("projection_timeout", 5.0),
            **options,
        )


def test_demo_products_are_valid_catalog_requests() -> None:
    for product in seed.DEMO_PRODUCTS:
        ProductCreate.model_validate(product)
    assert len({product["slug"] for product in seed.DEMO_PRODUCTS}) == len(seed.DEMO_PRODUCTS)


def test_seed_creates_publishes_and_waits_for_orders(market: FakeMarketplace) -> None:
    market.orders_lag_polls = 2

    result = _seed(market)

    assert [p.slug for p in result.products] == [p["slug"] for p in seed.DEMO_PRODUCTS]
    assert all(p.created for p in result.products)
    assert {p["status"] for p in market.products.values()} == {"published"}
    assert result.not_in_orders == []
    assert all(polls == 3 for polls in market.orders_polls.values())


def test_seeding_twice_creates_nothing_new(market: FakeMarketplace) -> None:
    first = _seed(market)

    second = _seed(market)

    assert market.creations == len(seed.DEMO_PRODUCTS)
    assert [p.id for p in second.products] == [p.id for p in first.products]
    assert not any(p.created for p in second.products)


def test_a_seed_stopped_between_submitting_and_approving_finishes_the_next_time(
    market: FakeMarketplace,
) -> None:
    market.refuse_approvals = True
    with pytest.raises(seed.SeedError, match="approve"):
        _seed(market)
    assert {p["status"] for p in market.products.values()} == {"submitted"}

    market.refuse_approvals = False
    result = _seed(market, projection_timeout=1.0)

    assert {p["status"] for p in market.products.values()} == {"published"}
    assert result.not_in_orders == []


def test_a_product_already_there_under_a_changed_body_is_kept(market: FakeMarketplace) -> None:
    first = _seed(market)
    changed = tuple({**p, "name": p["name"] + " (новая редакция)"} for p in seed.DEMO_PRODUCTS)

    second = _seed(market, products=changed, known={p.slug: p.id for p in first.products})

    assert [p.id for p in second.products] == [p.id for p in first.products]
    assert market.creations == len(seed.DEMO_PRODUCTS)


def test_a_product_taken_by_someone_else_and_unknown_to_us_is_an_error(
    market: FakeMarketplace,
) -> None:
    _seed(market)
    market.idempotency.clear()  # as if made by hand, not by the seed

    with pytest.raises(seed.SeedError, match="cloud-server"):
        _seed(market)


def test_orders_that_never_hear_of_a_product_are_reported(market: FakeMarketplace) -> None:
    market.orders_lag_polls = 10**6

    result = _seed(market, projection_timeout=0.3)

    assert result.not_in_orders == sorted(p["slug"] for p in seed.DEMO_PRODUCTS)


def test_seed_file_round_trip(market: FakeMarketplace, tmp_path: Path) -> None:
    result = _seed(market)
    path = tmp_path / "seed.json"

    result.save(path)

    assert seed.known_products(path) == {p.slug: p.id for p in result.products}
    assert json.loads(path.read_text("utf-8"))["owner_id"] == str(OPERATOR_ID)
    assert seed.known_products(tmp_path / "missing.json") == {}
