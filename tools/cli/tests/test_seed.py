"""The demo seed against identity and the catalog as real processes, on a real PostgreSQL and
an embedded broker.

Starting the two services and seeding thirty products takes a while, so the module shares one
stack and one seeding (run twice, as a developer restarting ``vitrina dev`` would); the plugin's
``make_database``/``kafka_bootstrap``/``start_service`` are per test, so the module builds the
same from the session's PostgreSQL, an embedded broker and ``ServiceProcess``.
"""

from __future__ import annotations

import json
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

import catalog.main
import identity.main
from catalog.products.schemas import ProductCreate
from identity.organizations.schemas import OrganizationCreate
from identity.testing import BUSINESS, PARTNER
from vitrina_cli import seed
from vitrina_cli.app import app
from vitrina_cli.demo_catalog import OPERATOR_PRODUCTS, PARTNERS, DemoPartner, plan
from vitrina_kit.local import EmbeddedBroker, create_database, drop_database, free_port
from vitrina_kit.migrations import upgrade
from vitrina_kit.testing import ServiceProcess

ALL_DEMO_PRODUCTS = OPERATOR_PRODUCTS + tuple(p for partner in PARTNERS for p in partner.products)


# -- the demo data, without services --------------------------------------------------------


def test_the_demo_data_is_what_identity_and_the_catalog_accept() -> None:
    for partner in PARTNERS:
        OrganizationCreate.model_validate(partner.registration)  # INN/KPP/OGRN, bank keys
    for product in ALL_DEMO_PRODUCTS:
        ProductCreate.model_validate(product)
    slugs = [product["slug"] for product in ALL_DEMO_PRODUCTS]
    assert len(set(slugs)) == len(slugs) >= 28
    assert len({partner.key for partner in PARTNERS}) == len(PARTNERS) >= 4
    assert len({partner.registration["inn"] for partner in PARTNERS}) == len(PARTNERS)


def test_the_demo_plans_show_the_catalog_s_range() -> None:
    plans = [p for product in ALL_DEMO_PRODUCTS for p in product["plans"]]

    assert {p["pricing_unit"] for p in plans} == {"seat", "organization", "gb", "vcpu", "unit"}
    assert {p["vat_mode"] for p in plans} == {"standard", "exempt"}
    assert {p["billing_period"] for p in plans} == {"month", "year"}
    assert any(p["trial_days"] > 0 for p in plans)
    assert any(not p["public"] for p in plans)
    for product in ALL_DEMO_PRODUCTS:
        filled = ("short_description", "description", "tags", "documentation_url", "support")
        assert [name for name in filled if not product.get(name)] == [], product["slug"]


# -- a stack of identity and catalog for the module ----------------------------------------


@dataclass(frozen=True)
class Stack:
    identity_url: str
    catalog_url: str


@pytest.fixture(scope="module")
def stack(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("seed-stack")
    databases: list[str] = []
    processes: list[ServiceProcess] = []
    with EmbeddedBroker(log_file=logs / "broker.log") as broker:
        identity_port, catalog_port = free_port(), free_port()
        identity_url = f"http://127.0.0.1:{identity_port}"
        auth = {
            "VITRINA_AUTH_ISSUER": identity_url,
            "VITRINA_AUTH_JWKS_URL": f"{identity_url}/.well-known/jwks.json",
        }
        try:
            for service, port in (
                (identity.main.SERVICE, identity_port),
                (catalog.main.SERVICE, catalog_port),
            ):
                url = make_url(postgres_url).set(database=f"t_seed_{uuid.uuid4().hex[:10]}")
                database_url = url.render_as_string(hide_password=False)
                create_database(database_url)
                databases.append(database_url)
                upgrade(service.migrations, database_url)
                process = ServiceProcess(
                    service.name,
                    "run",
                    database_url=database_url,
                    bootstrap_servers=broker.bootstrap_servers,
                    port=port,
                    env=auth,
                    log_path=logs / f"{service.name}.log",
                )
                processes.append(process)
                process.start()
            yield Stack(identity_url=identity_url, catalog_url=processes[1].base_url)
        finally:
            for process in processes:
                process.kill()
            for database_url in databases:
                drop_database(database_url)


@dataclass(frozen=True)
class Seeding:
    first: seed.SeedResult
    second: seed.SeedResult
    seed_file: Path


def _seed(stack: Stack, **options: Any) -> seed.SeedResult:
    with httpx.Client(timeout=10.0) as client:
        return seed.seed_demo_catalog(
            client, identity_url=stack.identity_url, catalog_url=stack.catalog_url, **options
        )


@pytest.fixture(scope="module")
def seeding(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Seeding:
    """The demo catalog seeded, then seeded again with the first run's seed.json."""
    seed_file = tmp_path_factory.mktemp("seed-data") / "seed.json"
    first = _seed(stack)
    first.save(seed_file)
    second = _seed(stack, saved=seed.saved_credentials(seed_file))
    return Seeding(first=first, second=second, seed_file=seed_file)


@pytest.fixture(scope="module")
def operator(stack: Stack) -> dict[str, str]:
    with httpx.Client(timeout=10.0) as client:
        return seed.operator_authorization(client, stack.identity_url)


def _all(url: str, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page_params = {**params, "limit": "200", **({"cursor": cursor} if cursor else {})}
        response = httpx.get(url, headers=headers, params=page_params, timeout=10.0)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def _partner_token(stack: Stack, partner: seed.SeededPartner) -> dict[str, str]:
    credentials = seed.ClientCredentials(partner.client_id, partner.client_secret)
    with httpx.Client(timeout=10.0) as client:
        token = seed.access_token(client, stack.identity_url, credentials)
    assert token is not None, partner
    return {"Authorization": f"Bearer {token}"}


# -- seeding a running stack -----------------------------------------------------------------


def test_every_demo_product_is_published_and_sold_by_its_owner(
    stack: Stack, seeding: Seeding, operator: dict[str, str]
) -> None:
    result = seeding.first
    assert [p.slug for p in result.products] == [p["slug"] for p in ALL_DEMO_PRODUCTS]
    assert all(p.created for p in result.products)
    assert [p.key for p in result.partners] == [p.key for p in PARTNERS]
    assert all(p.created for p in result.partners)

    published = {
        p["id"]: p for p in _all(f"{stack.catalog_url}/products", operator, status="published")
    }
    assert {p.id for p in result.products} <= published.keys()
    owners = {product["slug"]: partner.key for partner in PARTNERS for product in partner.products}
    partner_ids = {p.key: p.id for p in result.partners}
    for product in result.products:
        expected_owner = partner_ids[owners[product.slug]] if product.slug in owners else None
        assert published[product.id]["partner_id"] == (expected_owner or result.owner_id)
        assert product.owner_id == published[product.id]["partner_id"]

    # Leaf categories of the seeded taxonomy, on most of its shelves.
    taxonomy = httpx.get(f"{stack.catalog_url}/categories", timeout=10.0).json()
    shelf_of = {leaf["slug"]: top["slug"] for top in taxonomy for leaf in top["children"]}
    used = {product["category"] for product in ALL_DEMO_PRODUCTS}
    assert used <= shelf_of.keys()
    assert len({shelf_of[slug] for slug in used}) >= len(taxonomy) - 1

    organizations = {o["id"]: o for o in _all(f"{stack.identity_url}/organizations", operator)}
    assert organizations[result.owner_id]["kind"] == "operator"
    for partner in result.partners:
        assert organizations[partner.id]["kind"] == "partner"
        assert organizations[partner.id]["status"] == "active"


def test_each_partner_sees_only_its_own_products(stack: Stack, seeding: Seeding) -> None:
    for demo, partner in zip(PARTNERS, seeding.first.partners, strict=True):
        mine = _all(f"{stack.catalog_url}/products", _partner_token(stack, partner))

        assert sorted(p["slug"] for p in mine) == sorted(p["slug"] for p in demo.products)
        assert {p["partner_id"] for p in mine} == {partner.id}
        assert {p["status"] for p in mine} == {"published"}


def test_seeding_again_creates_nothing_new(
    stack: Stack, seeding: Seeding, operator: dict[str, str]
) -> None:
    first, second = seeding.first, seeding.second

    assert second.products == [replace(p, created=False) for p in first.products]
    assert second.partners == [replace(p, created=False) for p in first.partners]
    products = _all(f"{stack.catalog_url}/products", operator)
    assert len(products) == len({p["slug"] for p in products})
    demo_inns = {p.registration["inn"] for p in PARTNERS}
    registrations = [
        o["inn"]
        for o in _all(f"{stack.identity_url}/organizations", operator)
        if o["inn"] in demo_inns
    ]
    assert sorted(registrations) == sorted(demo_inns)


def test_seed_json_keeps_the_partners_credentials_for_the_owner_only(seeding: Seeding) -> None:
    saved = json.loads(seeding.seed_file.read_text("utf-8"))

    assert saved["owner_id"] == seeding.first.owner_id
    assert [p["client_id"] for p in saved["partners"]] == [
        p.client_id for p in seeding.first.partners
    ]
    assert stat.S_IMODE(seeding.seed_file.stat().st_mode) == 0o600
    assert seed.saved_credentials(seeding.seed_file.parent / "missing.json") == {}


def test_lost_credentials_rotate_the_same_client_instead_of_making_another(
    stack: Stack, seeding: Seeding, operator: dict[str, str]
) -> None:
    again = _seed(stack, saved={})  # seed.json deleted, databases kept

    for before, after in zip(seeding.second.partners, again.partners, strict=True):
        assert after.client_id == before.client_id
        assert after.client_secret != before.client_secret
        clients = httpx.get(
            f"{stack.identity_url}/organizations/{after.id}/clients", headers=operator
        ).json()["items"]
        assert [c["client_id"] for c in clients] == [after.client_id]
    assert [p.id for p in again.products] == [p.id for p in seeding.first.products]
    assert not any(p.created for p in again.products)


def test_a_partner_registered_by_hand_and_a_changed_product_are_taken_over(
    stack: Stack, seeding: Seeding, operator: dict[str, str]
) -> None:
    registration = {
        "kind": "partner",
        "legal_name": "Общество с ограниченной ответственностью «Облачные решения»",
        "short_name": "ООО «Облачные решения»",
        **PARTNER,
        "legal_address": "194044, г. Санкт-Петербург, Выборгская ул., д. 5",
    }
    by_hand = httpx.post(
        f"{stack.identity_url}/organizations",
        json=registration,
        headers={**operator, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert by_hand.status_code == 201, by_hand.text
    slug = f"hand-made-{uuid.uuid4().hex[:8]}"
    product = {
        "slug": slug,
        "name": "Облачный сервер для тестов",
        "category": "cloud",
        "plans": [plan("base", "Базовый", unit="unit", price="990.00")],
    }
    partner = DemoPartner(key=slug, registration=registration, products=(product,))

    first = _seed(stack, partners=(partner,), operator_products=())
    # The same slug under another body: the key no longer replays; the slug finds the product.
    renamed = replace(partner, products=({**product, "name": "Облачный сервер, 2-я редакция"},))
    second = _seed(stack, partners=(renamed,), operator_products=())

    assert first.partners[0].id == by_hand.json()["id"]
    assert not first.partners[0].created
    assert first.products[0].owner_id == by_hand.json()["id"]
    assert second.products[0].id == first.products[0].id
    assert not second.products[0].created


def test_a_slug_taken_by_another_seller_is_an_error(stack: Stack, seeding: Seeding) -> None:
    taken = {**OPERATOR_PRODUCTS[0], "name": "Чужой облачный сервер"}  # the operator's slug
    thief = DemoPartner(
        key="thief",
        registration={
            "kind": "partner",
            "legal_name": "Общество с ограниченной ответственностью «Ромашка»",
            "short_name": "ООО «Ромашка»",
            **BUSINESS,
            "legal_address": "143900, Московская обл., г. Балашиха, ул. Советская, д. 3",
        },
        products=(taken,),
    )

    with pytest.raises(seed.SeedError, match=OPERATOR_PRODUCTS[0]["slug"]):
        _seed(stack, partners=(thief,), operator_products=())


def test_vitrina_seed_loads_the_catalog_into_a_running_stack(
    stack: Stack, seeding: Seeding, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "seed.json").write_text(seeding.seed_file.read_text("utf-8"), "utf-8")

    answer = CliRunner().invoke(
        app,
        [
            "seed",
            "--identity-url", stack.identity_url,
            "--catalog-url", stack.catalog_url,
            "--data-dir", str(data_dir),
        ],
    )  # fmt: skip

    assert answer.exit_code == 0, answer.output
    assert f"{len(ALL_DEMO_PRODUCTS)} products (0 new)" in answer.output
    assert f"{len(PARTNERS)} partners (0 new)" in answer.output
    assert seed.saved_credentials(data_dir / "seed.json")


def test_vitrina_seed_says_why_it_failed(tmp_path: Path) -> None:
    answer = CliRunner().invoke(
        app,
        [
            "seed",
            "--identity-url", f"http://127.0.0.1:{free_port()}",
            "--data-dir", str(tmp_path),
        ],
    )  # fmt: skip

    assert answer.exit_code == 1
    assert "cannot be reached" in answer.output
