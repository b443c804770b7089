"""Access control end to end with real tokens: identity, catalog and orders as processes.

The operator registers organizations and their API clients in identity; each client gets its
own tokens; catalog and orders verify them against identity's JWKS, keep every organization to
its own products, record who changed what, and keep working through a signing-key rotation.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable

import httpx
import pytest

import catalog.main
import identity.main
import orders.main
from identity.testing import (
    BUSINESS,
    ENTREPRENEUR,
    OPERATOR_ID,
    OPERATOR_SECRET,
    PARTNER_BODY,
    Member,
    bearer,
    get_token,
    register_member,
)
from vitrina_kit.local import free_port
from vitrina_kit.testing import ServiceProcess, migrated_database, wait_until

pytestmark = pytest.mark.slow


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "==="))["kid"])


def product_body() -> dict[str, object]:
    return {
        "slug": f"ddos-protection-{uuid.uuid4().hex[:6]}",
        "name": "Защита от DDoS-атак",
        "category": "information-security",
        "plans": [{"code": "l7", "name": "L3–L7", "pricing_unit": "organization",
                   "unit_price": "14900.00"}],
    }  # fmt: skip


async def test_tokens_scopes_and_tenancy_hold_across_services(
    make_database: Callable[[str], str], start_service: Callable[..., ServiceProcess]
) -> None:
    identity_port = free_port()
    identity_url = f"http://127.0.0.1:{identity_port}"
    auth = {
        "VITRINA_AUTH_ISSUER": identity_url,
        "VITRINA_AUTH_JWKS_URL": f"{identity_url}/.well-known/jwks.json",
    }
    start_service(
        "identity", "run", port=identity_port,
        database_url=migrated_database(make_database, identity.main.SERVICE),
        env={**auth, "IDENTITY_SIGNING_KEY_PUBLISH_AHEAD_SECONDS": "0"},
    )  # fmt: skip
    catalog_api = start_service(
        "catalog", "run", port=free_port(),
        database_url=migrated_database(make_database, catalog.main.SERVICE), env=auth,
    )  # fmt: skip
    orders_api = start_service(
        "orders", "run", port=free_port(),
        database_url=migrated_database(make_database, orders.main.SERVICE), env=auth,
    )  # fmt: skip

    async with (
        httpx.AsyncClient(base_url=identity_url, timeout=10) as idp,
        httpx.AsyncClient(timeout=10) as http,
    ):
        operator = bearer(await get_token(idp, OPERATOR_ID, OPERATOR_SECRET))
        partner: Member = await register_member(
            idp, operator, scopes=["catalog:read", "catalog:write"], **PARTNER_BODY
        )
        rival: Member = await register_member(
            idp, operator, scopes=["catalog:read", "catalog:write"],
            **{**PARTNER_BODY, **ENTREPRENEUR, "kpp": None,
               "legal_name": "Индивидуальный предприниматель Иванов Иван Иванович",
               "short_name": "ИП Иванов И. И."},
        )  # fmt: skip
        business: Member = await register_member(
            idp, operator, scopes=["orders:read", "catalog:read"], kind="business", **BUSINESS
        )

        # The partner submits, the operator approves; the product becomes visible to buyers in
        # orders.
        created = await http.post(
            f"{catalog_api.base_url}/products", json=product_body(),
            headers={**partner.headers, "Idempotency-Key": str(uuid.uuid4())},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        product = created.json()
        assert product["partner_id"] == partner.id
        submitted = await http.post(
            f"{catalog_api.base_url}/products/{product['id']}/submit", headers=partner.headers
        )
        assert submitted.status_code == 200, submitted.text
        published = await http.post(
            f"{catalog_api.base_url}/products/{product['id']}/approve", headers=operator
        )
        assert published.status_code == 200, published.text

        async def in_orders() -> httpx.Response | None:
            response = await http.get(
                f"{orders_api.base_url}/catalog/products/{product['id']}", headers=business.headers
            )
            return response if response.status_code == 200 else None

        await wait_until(in_orders, timeout=30, message="the product in orders")

        # Another partner cannot see or touch it; a business cannot offer products.
        for method, path in (("GET", ""), ("POST", "/retire"), ("GET", "/revisions")):
            response = await http.request(
                method, f"{catalog_api.base_url}/products/{product['id']}{path}",
                headers=rival.headers,
            )  # fmt: skip
            assert response.status_code == 404, (method, path, response.text)
        refused = await http.post(
            f"{catalog_api.base_url}/products", json=product_body(),
            headers={**business.headers, "Idempotency-Key": str(uuid.uuid4())},
        )  # fmt: skip
        assert refused.status_code == 403  # its token has no catalog:write
        assert refused.json()["code"] == "insufficient_scope"
        forged = partner.token[:-4] + ("AAAA" if not partner.token.endswith("AAAA") else "BBBB")
        tampered = await http.get(
            f"{catalog_api.base_url}/products/{product['id']}", headers=bearer(forged)
        )
        assert tampered.status_code == 401

        # Who changed what, for the operator.
        audit = await http.get(f"{catalog_api.base_url}/ops/audit", headers=operator)
        assert audit.status_code == 200, audit.text
        entries = audit.json()["items"]
        assert [(e["action"], e["client_id"]) for e in entries] == [
            ("POST /products/{product_id}/approve", OPERATOR_ID),
            ("POST /products/{product_id}/submit", partner.client_id),
            ("POST /products", partner.client_id),
        ]
        assert [e["organization_id"] for e in entries[1:]] == [partner.id, partner.id]

        # A rotation without notice (publish-ahead 0 here): new tokens carry the new kid and are
        # accepted as soon as the verifier may refresh its key set (a couple of seconds at
        # most); tokens from before the rotation keep working.
        rotated = await idp.post("/keys/rotate", headers=operator)
        assert rotated.status_code == 201, rotated.text
        fresh = await get_token(idp, partner.client_id, partner.secret)
        assert kid_of(fresh) == rotated.json()["kid"] != kid_of(partner.token)

        async def accepted(token: str) -> bool:
            response = await http.get(
                f"{catalog_api.base_url}/products/{product['id']}", headers=bearer(token)
            )
            return response.status_code == 200

        await wait_until(lambda: accepted(fresh), timeout=5, message="the new key accepted")
        assert await accepted(partner.token)
