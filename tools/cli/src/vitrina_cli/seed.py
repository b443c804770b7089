"""The demo catalog (its data is in ``demo_catalog.py``), loaded through the services' own APIs
the way real organizations would make it:

1. the operator registers each demo partner in identity (active at once) and gives it an API
   client with ``catalog:read catalog:write``;
2. each partner, with its own token, creates its products and submits them — so the products
   belong to the partner's organization; the operator's own products are made the same way
   with the operator's token;
3. the operator approves every product (it moderates the marketplace, its own products
   included), and, given orders' URL, waits until orders has heard of them all.

Seeding is repeatable against a kept stack. Organizations and products are created with fixed
Idempotency-Keys, so identity and catalog replay their first answer; once those keys have
expired (identity and catalog keep them a day), an organization is found again by its INN and
KPP and a product by its slug among its owner's products. An API client's secret is shown only
when it is created, so the partners' credentials are kept in ``seed.json`` beside the ids; if
they are lost or no longer work, the seed rotates the secret of the client it made before
rather than make another client.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx

from vitrina_cli.demo_catalog import OPERATOR_PRODUCTS, PARTNERS, DemoPartner
from vitrina_cli.identity import basic_credentials

DEV_OPERATOR_CLIENT_ID = "vitrina-operator"
DEV_OPERATOR_CLIENT_SECRET = "dev-operator-secret"  # noqa: S105 - identity's documented dev default

PARTNER_CLIENT_NAME = "Демо-каталог Витрины"
"""The name of the API client the seed makes for each partner; how a re-run finds it again."""
PARTNER_SCOPES = ("catalog:read", "catalog:write")
_PAGE_SIZE = 200  # the largest page identity and catalog give


class SeedError(RuntimeError):
    """Identity or the catalog refused the demo data."""


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class Seller:
    """An organization acting in the catalog with its own access token."""

    organization_id: str
    authorization: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class SeededPartner:
    key: str
    id: str
    """The partner organization's id in identity."""
    name: str
    created: bool
    """False when the organization was already registered (a kept database)."""
    client_id: str
    client_secret: str
    """Kept so a later seed (or a person trying the partner API) can get the partner's tokens."""


@dataclass(frozen=True)
class SeededProduct:
    slug: str
    id: str
    name: str
    created: bool
    """False when the product was already there (a kept database)."""
    owner_id: str
    """The organization selling it: a partner's, or the operator's."""


@dataclass(frozen=True)
class SeedResult:
    owner_id: str
    """The operator's organization (it owns the operator's products and approves them all)."""
    partners: list[SeededPartner]
    products: list[SeededProduct]
    not_in_orders: list[str]
    """Slugs orders had not received when seeding gave up waiting (none if not asked)."""
    integrations: dict[str, Any] | None = None
    """The demo connectors and the demo partner's provisioning endpoint with its client and
    signing secret (``demo_integrations.IntegrationsSeeded``), once they have been seeded."""

    def save(self, path: Path) -> None:
        """Write ``seed.json``, readable by its owner only: it holds the partners' secrets."""
        text = json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "w", encoding="utf-8") as file:
            file.write(text)


def saved_credentials(path: Path) -> dict[str, ClientCredentials]:
    """Organization id -> its API client's credentials, from an earlier run's ``seed.json``
    (empty if there is none or it cannot be read)."""
    try:
        saved = json.loads(path.read_text("utf-8"))
        return {
            partner["id"]: ClientCredentials(partner["client_id"], partner["client_secret"])
            for partner in saved["partners"]
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def saved_integrations(path: Path) -> dict[str, Any] | None:
    """The ``integrations`` of an earlier run's ``seed.json`` (None if there is none)."""
    try:
        saved = json.loads(path.read_text("utf-8")).get("integrations")
    except (OSError, ValueError, AttributeError):
        return None
    return saved if isinstance(saved, dict) else None


def idempotency_key(product: dict[str, Any]) -> str:
    """Fixed per product, so a repeated seed replays the first creation instead of a second one."""
    return f"vitrina-demo-seed-{product['slug']}"


def access_token(
    client: httpx.Client, identity_url: str, credentials: ClientCredentials
) -> str | None:
    """An access token for the client (client credentials grant); None if identity does not
    accept the credentials."""
    response = client.post(
        f"{identity_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={
            "Authorization": basic_credentials(credentials.client_id, credentials.client_secret)
        },
    )
    if response.status_code == HTTPStatus.OK:
        return str(response.json()["access_token"])
    if response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED):
        return None  # invalid_client: an unknown client, a wrong or rotated-away secret
    raise SeedError(f"no token for {credentials.client_id}: {_describe(response)}")


def operator_authorization(
    client: httpx.Client,
    identity_url: str,
    *,
    client_id: str = DEV_OPERATOR_CLIENT_ID,
    client_secret: str = DEV_OPERATOR_CLIENT_SECRET,
) -> dict[str, str]:
    """An ``Authorization`` header with an operator access token (client credentials grant)."""
    token = access_token(client, identity_url, ClientCredentials(client_id, client_secret))
    if token is None:
        raise SeedError(f"identity does not accept the operator client {client_id!r}")
    return _bearer(token)


def seed_demo_catalog(
    client: httpx.Client,
    *,
    identity_url: str,
    catalog_url: str,
    orders_url: str | None = None,
    operator: ClientCredentials | None = None,
    saved: dict[str, ClientCredentials] | None = None,
    partners: tuple[DemoPartner, ...] = PARTNERS,
    operator_products: tuple[dict[str, Any], ...] = OPERATOR_PRODUCTS,
    projection_timeout: float = 30.0,
) -> SeedResult:
    """Register the demo partners, create and publish every demo product as its owner, then,
    given ``orders_url``, wait until orders has them all.

    ``saved`` are the partners' client credentials from an earlier run (``saved_credentials``).
    """
    seed = _Seed(
        client,
        identity_url=identity_url,
        catalog_url=catalog_url,
        operator=operator or ClientCredentials(DEV_OPERATOR_CLIENT_ID, DEV_OPERATOR_CLIENT_SECRET),
    )
    seeded_partners = [seed.partner(partner, saved or {}) for partner in partners]
    products = [seed.product(product, seed.operator) for product in operator_products]
    for partner, seeded in zip(partners, seeded_partners, strict=True):
        seller = seed.seller(seeded.client_id, seeded.client_secret, seeded.id)
        products += [seed.product(product, seller) for product in partner.products]
    missing = (
        _wait_for_orders(client, orders_url, products, seed.operator, timeout=projection_timeout)
        if orders_url
        else []
    )
    return SeedResult(
        owner_id=seed.operator.organization_id,
        partners=seeded_partners,
        products=products,
        not_in_orders=missing,
    )


class _Seed:
    """One seeding run: the HTTP client, the services' URLs and the operator's token."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        identity_url: str,
        catalog_url: str,
        operator: ClientCredentials,
    ) -> None:
        self._client = client
        self._identity = identity_url
        self._catalog = catalog_url
        authorization = operator_authorization(
            client,
            identity_url,
            client_id=operator.client_id,
            client_secret=operator.client_secret,
        )
        self.operator = Seller(self._own_organization(authorization), authorization)

    def seller(self, client_id: str, client_secret: str, organization_id: str) -> Seller:
        token = access_token(
            self._client, self._identity, ClientCredentials(client_id, client_secret)
        )
        if token is None:
            raise SeedError(f"identity refuses the credentials it just gave {client_id!r}")
        return Seller(organization_id, _bearer(token))

    # -- identity ------------------------------------------------------------------------

    def _own_organization(self, authorization: dict[str, str]) -> str:
        """The operator's organization, from identity's introspection of its own token: no
        setting has to repeat it."""
        token = authorization["Authorization"].removeprefix("Bearer ")
        response = self._client.post(
            f"{self._identity}/oauth/introspect", data={"token": token}, headers=authorization
        )
        if response.status_code != HTTPStatus.OK or not response.json().get("active"):
            raise SeedError(f"the operator's token cannot be introspected: {_describe(response)}")
        return str(response.json()["org_id"])

    def partner(self, partner: DemoPartner, saved: dict[str, ClientCredentials]) -> SeededPartner:
        """The partner registered (or found again) with working credentials of its client."""
        organization_id, created = self._register(partner)
        credentials = saved.get(organization_id)
        if credentials is None or access_token(self._client, self._identity, credentials) is None:
            credentials = self._new_credentials(partner, organization_id)
        return SeededPartner(
            key=partner.key,
            id=organization_id,
            name=partner.name,
            created=created,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
        )

    def _register(self, partner: DemoPartner) -> tuple[str, bool]:
        """The partner's organization id, and whether this run registered it."""
        response = self._client.post(
            f"{self._identity}/organizations",
            json=partner.registration,
            headers={
                **self.operator.authorization,
                "Idempotency-Key": f"vitrina-demo-seed-organization-{partner.key}",
            },
        )
        if response.status_code == HTTPStatus.CREATED:
            return str(response.json()["id"]), not _replayed(response)
        if _problem_code(response) not in {
            "organization_already_registered",
            "idempotency_key_reused",
        }:
            raise SeedError(f"registering {partner.name}: {_describe(response)}")
        # Registered by an earlier run whose key has expired, or by hand: identity allows one
        # live registration per INN and KPP, so that one is the partner — if it is a partner.
        inn, kpp = partner.registration["inn"], partner.registration.get("kpp")
        for organization in self._pages(
            f"{self._identity}/organizations", self.operator.authorization
        ):
            if (organization["inn"], organization["kpp"]) == (inn, kpp):
                if organization["kind"] != "partner" or organization["status"] != "active":
                    raise SeedError(
                        f"INN {inn}, KPP {kpp} is registered as a {organization['status']} "
                        f"{organization['kind']}, not an active partner: {partner.name} "
                        "cannot be seeded"
                    )
                return str(organization["id"]), False
        raise SeedError(f"registering {partner.name}: {_describe(response)}")

    def _new_credentials(self, partner: DemoPartner, organization_id: str) -> ClientCredentials:
        return client_credentials(
            self._client,
            self._identity,
            self.operator.authorization,
            organization_id,
            name=PARTNER_CLIENT_NAME,
            scopes=PARTNER_SCOPES,
            idempotency_key=f"vitrina-demo-seed-client-{partner.key}",
            owner=partner.name,
        )

    # -- catalog -------------------------------------------------------------------------

    def product(self, product: dict[str, Any], seller: Seller) -> SeededProduct:
        """Create ``product`` as ``seller``, have it submit it and the operator approve it."""
        response = self._client.post(
            f"{self._catalog}/products",
            json=product,
            headers={**seller.authorization, "Idempotency-Key": idempotency_key(product)},
        )
        if response.status_code == HTTPStatus.CREATED:
            product_id, created = str(response.json()["id"]), not _replayed(response)
        elif _problem_code(response) in {"slug_taken", "idempotency_key_reused"}:
            # The demo data changed since it was first seeded, or its key expired: keep the
            # seller's product with this slug rather than fail — unless it is someone else's.
            product_id, created = self._own_product_id(product["slug"], seller, response), False
        else:
            raise SeedError(f"creating {product['slug']!r}: {_describe(response)}")
        self._publish(f"{self._catalog}/products/{product_id}", seller)
        return SeededProduct(
            slug=product["slug"],
            id=product_id,
            name=product["name"],
            created=created,
            owner_id=seller.organization_id,
        )

    def _own_product_id(self, slug: str, seller: Seller, refusal: httpx.Response) -> str:
        for existing in self._pages(f"{self._catalog}/products", seller.authorization):
            # The operator's listing holds every partner's products too: check the owner.
            if existing["slug"] == slug and existing["partner_id"] == seller.organization_id:
                return str(existing["id"])
        raise SeedError(f"creating {slug!r}: {_describe(refusal)}")

    def _publish(self, url: str, seller: Seller) -> None:
        """The seller submits, the operator approves.

        A step that answers 409 is checked against the product's status rather than assumed
        done: an earlier run may have stopped between submitting and approving.
        """
        steps = (
            ("submit", seller.authorization, {"submitted", "published"}),
            ("approve", self.operator.authorization, {"published"}),
        )
        for step, authorization, done_after in steps:
            response = self._client.post(f"{url}/{step}", headers=authorization)
            if response.status_code == HTTPStatus.OK:
                continue
            current = self._client.get(url, headers=seller.authorization)
            status = current.json().get("status") if current.status_code == HTTPStatus.OK else None
            if response.status_code != HTTPStatus.CONFLICT or status not in done_after:
                raise SeedError(f"publishing {url} ({step}): {_describe(response)}")
            if status == "published":
                return

    def _pages(self, url: str, authorization: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paginated listing."""
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": _PAGE_SIZE}
            if cursor is not None:
                params["cursor"] = cursor
            response = self._client.get(url, params=params, headers=authorization)
            if response.status_code != HTTPStatus.OK:
                raise SeedError(f"listing {url}: {_describe(response)}")
            page = response.json()
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return


def client_credentials(
    client: httpx.Client,
    identity_url: str,
    operator_authorization: dict[str, str],
    organization_id: str,
    *,
    name: str,
    scopes: tuple[str, ...],
    idempotency_key: str,
    owner: str,
) -> ClientCredentials:
    """Credentials of the organization's demo client called ``name``: a new client the first
    time; later (the secret lost with ``seed.json``, or never kept) the same client with a
    rotated secret, so re-running never piles up clients."""
    clients_url = f"{identity_url}/organizations/{organization_id}/clients"
    listed = client.get(clients_url, headers=operator_authorization)
    if listed.status_code != HTTPStatus.OK:
        raise SeedError(f"listing the clients of {owner}: {_describe(listed)}")
    existing = [
        made
        for made in listed.json()["items"]
        if made["name"] == name and made["status"] == "active"
    ]
    if existing:
        client_id = str(existing[0]["client_id"])
    else:
        created = client.post(
            clients_url,
            json={"name": name, "scopes": list(scopes)},
            headers={**operator_authorization, "Idempotency-Key": idempotency_key},
        )
        if created.status_code != HTTPStatus.CREATED:
            raise SeedError(f"creating a client of {owner}: {_describe(created)}")
        if "client_secret" in created.json():
            return ClientCredentials(
                str(created.json()["client_id"]), str(created.json()["client_secret"])
            )
        client_id = str(created.json()["client_id"])  # a replay carries no secret
    rotated = client.post(
        f"{clients_url}/{client_id}/rotate-secret", headers=operator_authorization
    )
    if rotated.status_code != HTTPStatus.OK:
        raise SeedError(f"rotating the secret of {client_id}: {_describe(rotated)}")
    return ClientCredentials(client_id, str(rotated.json()["client_secret"]))


def _wait_for_orders(
    client: httpx.Client,
    orders_url: str,
    seeded: list[SeededProduct],
    operator: Seller,
    *,
    timeout: float,
) -> list[str]:
    """Slugs of the products orders still does not know after ``timeout`` seconds."""
    waiting = {product.id: product.slug for product in seeded}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for product_id in list(waiting):
            response = client.get(
                f"{orders_url}/catalog/products/{product_id}", headers=operator.authorization
            )
            if response.status_code == HTTPStatus.OK:
                del waiting[product_id]
        if waiting:
            time.sleep(0.2)
    return sorted(waiting.values())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _replayed(response: httpx.Response) -> bool:
    return "idempotent-replayed" in response.headers


def _problem_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return str(code) if code is not None else None


def _describe(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.text[:500]}"
