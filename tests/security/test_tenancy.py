"""Another organization's ids lead nowhere: every route that takes an id answers a caller of
another organization (of the same kind, and of another kind) 404, never 403, and its body
carries nothing of the resource. The routes are read from the apps themselves; a route added
tomorrow fails ``test_every_route_taking_an_id_is_classified`` until it is put in RULES.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from billing.messaging.handlers import HANDLERS as BILLING_HANDLERS
from identity.testing import register_member
from integrations.webhooks import service as webhooks
from orders.catalog.projection import apply_product
from orders.organizations.projection import apply_organization
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.catalog import PlanSnapshot, ProductPublished
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_contracts.events.orders import SubscriptionCreated, SubscriptionSnapshot
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.consumer import Received
from vitrina_kit.db import transaction
from vitrina_kit.problems import PROBLEM_CONTENT_TYPE
from vitrina_kit.testing import TestIssuer

BUSINESS, PARTNER = OrganizationKind.BUSINESS, OrganizationKind.PARTNER


@dataclass(frozen=True)
class Owned:
    """An organization's own resource: anyone else's caller gets 404."""

    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Public:
    """Readable by every caller, by design."""

    reason: str


@dataclass(frozen=True)
class OperatorOnly:
    """Refused (403) to every organization but the operator, whatever the id: no oracle."""

    reason: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class NotSeeded:
    """Owned, but this suite cannot create one yet: probed with an unknown id only."""

    reason: str
    body: dict[str, Any] | None = None


Rule = Owned | Public | OperatorOnly | NotSeeded

_PLAN = {"code": "extra", "name": "Extra", "pricing_unit": "seat", "unit_price": "100.00"}
_NEEDS_RUN = "needs a billing period close (a run over a month of service)"

RULES: dict[str, dict[tuple[str, str], Rule]] = {
    "identity": {
        ("GET", "/organizations/{organization_id}"): Owned(),
        ("PATCH", "/organizations/{organization_id}"): Owned({"short_name": "ООО «Чужое»"}),
        ("POST", "/organizations/{organization_id}/approve"): OperatorOnly("moderation"),
        ("POST", "/organizations/{organization_id}/reject"): OperatorOnly("moderation"),
        ("POST", "/organizations/{organization_id}/clients"): Owned(
            {"name": "Intruder", "scopes": ["identity:read"]}
        ),
        ("GET", "/organizations/{organization_id}/clients"): Owned(),
        ("GET", "/organizations/{organization_id}/clients/{client_id}"): Owned(),
        ("POST", "/organizations/{organization_id}/clients/{client_id}/rotate-secret"): Owned(),
        ("POST", "/organizations/{organization_id}/clients/{client_id}/revoke"): Owned(),
    },
    "catalog": {
        ("GET", "/storefront/products/{slug}"): Public("the storefront shows published products"),
        ("GET", "/products/{product_id}"): Owned(),
        ("PATCH", "/products/{product_id}"): Owned({"name": "Hijacked"}),
        ("GET", "/products/{product_id}/revisions"): Owned(),
        ("POST", "/products/{product_id}/submit"): Owned(),
        ("POST", "/products/{product_id}/approve"): OperatorOnly("moderation"),
        ("POST", "/products/{product_id}/reject"): OperatorOnly("moderation"),
        ("POST", "/products/{product_id}/retire"): Owned(),
        ("POST", "/products/{product_id}/plans/{plan_id}/price-changes"): Owned(
            {"unit_price": "1.00", "effective_on": "2030-01-01"}
        ),
        ("POST", "/products/{product_id}/plans"): Owned(_PLAN),
        ("PATCH", "/products/{product_id}/plans/{plan_id}"): Owned({"name": "Hijacked"}),
        ("DELETE", "/products/{product_id}/plans/{plan_id}"): Owned(),
    },
    "orders": {
        ("GET", "/catalog/products/{product_id}"): Public(
            "the published catalog: what every buyer may order"
        ),
        ("GET", "/orders/{order_id}"): Owned(),
        ("GET", "/subscriptions/{subscription_id}"): Owned(),
        ("POST", "/subscriptions/{subscription_id}/seats"): Owned({"quantity": 2}),
        ("POST", "/subscriptions/{subscription_id}/plan"): Owned({"plan_id": str(uuid.uuid4())}),
        ("POST", "/subscriptions/{subscription_id}/cancel"): Owned({}),
        ("POST", "/subscriptions/{subscription_id}/reactivate"): Owned(),
        ("POST", "/subscriptions/{subscription_id}/withdraw-change"): Owned(),
        ("POST", "/subscriptions/{subscription_id}/suspend"): Owned(),
        ("POST", "/subscriptions/{subscription_id}/resume"): Owned(),
    },
    "billing": {
        ("GET", "/invoices/{invoice_id}"): Owned(),
        ("GET", "/invoices/{invoice_id}/print"): Owned(),
        ("GET", "/closing-documents/{document_id}"): NotSeeded(_NEEDS_RUN),
        ("GET", "/credit-notes/{document_id}"): NotSeeded(_NEEDS_RUN),
        ("GET", "/accounts/{customer_id}"): Owned(),
        ("PUT", "/accounts/{customer_id}/payment-terms"): OperatorOnly(
            "the operator's terms", {"kind": "prepaid", "days": 5}
        ),
        ("GET", "/payments/{payment_id}"): NotSeeded("needs a matched bank payment"),
        ("POST", "/payments/{payment_id}/allocations"): OperatorOnly(
            "the operator allocates payments", {"invoice_id": str(uuid.uuid4()), "amount": "1.00"}
        ),
        ("GET", "/settlements/{settlement_id}"): NotSeeded("needs a settlement run"),
        ("GET", "/commission-rates/{partner_id}"): NotSeeded(
            "a partner's rate, set by the operator"
        ),
        ("PUT", "/commission-rates/{partner_id}"): OperatorOnly(
            "the operator sets rates", {"percent": "1"}
        ),
        ("PUT", "/commission-rates/products/{product_id}"): OperatorOnly(
            "the operator sets rates", {"percent": "1"}
        ),
    },
    "integrations": {
        ("GET", "/connectors/{connector_id}"): NotSeeded("the operator's EDO and 1C connectors"),
        ("PATCH", "/connectors/{connector_id}"): NotSeeded(
            "the operator's connectors", {"login": "intruder"}
        ),
        ("DELETE", "/connectors/{connector_id}"): NotSeeded("the operator's connectors"),
        ("POST", "/connectors/{connector_id}/oauth/authorization-code"): NotSeeded(
            "the operator's connectors", {"code": "x", "redirect_uri": "https://198.51.200.9/cb"}
        ),
        ("GET", "/edo/documents/{edo_document_id}"): NotSeeded("needs a closing document"),
        ("GET", "/edo/documents/{edo_document_id}/xml"): NotSeeded("needs a closing document"),
        ("GET", "/bank-statements/{import_id}"): OperatorOnly("the operator's bank statements"),
        ("GET", "/webhooks/endpoints/{endpoint_id}"): Owned(),
        ("PATCH", "/webhooks/endpoints/{endpoint_id}"): Owned({"description": "Hijacked"}),
        ("DELETE", "/webhooks/endpoints/{endpoint_id}"): Owned(),
        ("POST", "/webhooks/endpoints/{endpoint_id}/rotate-secret"): Owned(),
        ("POST", "/webhooks/endpoints/{endpoint_id}/disable"): Owned(),
        ("POST", "/webhooks/endpoints/{endpoint_id}/enable"): Owned(),
        ("GET", "/webhooks/endpoints/{endpoint_id}/deliveries"): Owned(),
        ("GET", "/webhooks/deliveries/{delivery_id}"): Owned(),
        ("POST", "/webhooks/deliveries/{delivery_id}/redeliver"): Owned(),
        ("GET", "/onec/sync/{document_id}"): OperatorOnly("the operator's 1C bookkeeping"),
        ("POST", "/onec/sync/{document_id}/retry"): OperatorOnly("the operator's 1C bookkeeping"),
    },
}


def test_every_route_taking_an_id_is_classified(route_table: dict[str, Any]) -> None:
    found = {
        name: {(r.method, r.path) for r in table if r.path_params}
        for name, table in route_table.items()
    }
    declared = {name: set(rules) for name, rules in RULES.items()}
    unclassified = {name: found[name] - declared.get(name, set()) for name in found}
    stale = {name: declared[name] - found.get(name, set()) for name in declared}
    assert {name: routes for name, routes in unclassified.items() if routes} == {}
    assert {name: routes for name, routes in stale.items() if routes} == {}


@dataclass
class Tenant:
    """Organization A's resources in one service: the ids the routes take, and A itself."""

    kind: OrganizationKind
    organization_id: uuid.UUID
    ids: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    """Values of A's resources that must not show in anyone else's answer."""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str) and len(value) >= 6:
        yield value


def _path(template: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), str(uuid.uuid4())), template)


def _headers(issuer: TestIssuer, organization: uuid.UUID, kind: OrganizationKind) -> dict[str, str]:
    return {**issuer.headers(organization, kind), "Idempotency-Key": str(uuid.uuid4())}


async def _seed_identity(client: httpx.AsyncClient, issuer: TestIssuer) -> Tenant:
    operator = issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR)
    member = await register_member(client, operator)
    tenant = Tenant(BUSINESS, uuid.UUID(member.id))
    tenant.ids = {"organization_id": member.id, "client_id": member.client_id}
    return tenant


async def _seed_catalog(client: httpx.AsyncClient, issuer: TestIssuer) -> Tenant:
    tenant = Tenant(PARTNER, uuid.uuid4())
    created = await client.post(
        "/products",
        json={
            "slug": f"secret-product-{uuid.uuid4().hex[:8]}",
            "name": "Секретный продукт партнёра",
            "category": "cloud",
            "plans": [_PLAN, {**_PLAN, "code": "second", "name": "Second"}],
        },
        headers=_headers(issuer, tenant.organization_id, PARTNER),
    )
    assert created.status_code == 201, created.text
    product = created.json()
    tenant.ids = {"product_id": product["id"], "plan_id": product["plans"][0]["id"]}
    return tenant


def _plan() -> PlanSnapshot:
    return PlanSnapshot(
        plan_id=uuid.uuid4(),
        code="standard",
        name="Стандарт",
        billing_period="month",
        pricing_unit="seat",
        unit_price=Decimal("500.00"),
        vat_mode="standard",
        min_quantity=1,
        max_quantity=100,
    )


async def _seed_orders(client: httpx.AsyncClient, issuer: TestIssuer, database_url: str) -> Tenant:
    tenant = Tenant(BUSINESS, uuid.uuid4())
    organization = OrganizationUpdated.example().organization.model_copy(
        update={"organization_id": tenant.organization_id}
    )
    plan = _plan()
    product = ProductPublished.example().product.model_copy(
        update={
            "product_id": uuid.uuid4(),
            "partner_id": uuid.uuid4(),
            "slug": f"product-{uuid.uuid4().hex[:8]}",
            "plans": (plan,),
        }
    )
    engine = db.create_engine(database_url, pool_size=1)
    try:
        async with transaction(db.create_session_factory(engine)) as session:
            await apply_organization(session, organization, version=1)
            await apply_product(session, product)
    finally:
        await engine.dispose()
    placed = await client.post(
        "/orders",
        json={
            "lines": [{"plan_id": str(plan.plan_id), "quantity": 3}],
            "purchase_order_ref": "PO-SECRET-0042",
        },
        headers=_headers(issuer, tenant.organization_id, BUSINESS),
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    tenant.ids = {
        "order_id": order["order_id"],
        "subscription_id": order["lines"][0]["subscription_id"],
    }
    return tenant


async def _deliver(handlers: Any, database_url: str, events: list[tuple[Event, uuid.UUID]]) -> None:
    engine = db.create_engine(database_url, pool_size=1)
    sessions = db.create_session_factory(engine)
    try:
        for event, subject in events:
            envelope = build_envelope(
                event,
                source="/vitrina/test",
                subject=str(subject),
                aggregate_version=1,
                time=datetime.now(UTC),
            )
            message: Received[Any] = Received(event, envelope, event.topic, 0, 0)
            async with transaction(sessions) as session:
                await handlers[type(event)](session, message)
    finally:
        await engine.dispose()


async def _seed_billing(client: httpx.AsyncClient, issuer: TestIssuer, database_url: str) -> Tenant:
    tenant = Tenant(BUSINESS, uuid.uuid4())
    organization = OrganizationUpdated.example().organization.model_copy(
        update={"organization_id": tenant.organization_id}
    )
    plan = _plan()
    product = ProductPublished.example().product.model_copy(
        update={"product_id": uuid.uuid4(), "plans": (plan,)}
    )
    subscription = SubscriptionSnapshot(
        subscription_id=uuid.uuid4(),
        customer_id=tenant.organization_id,
        partner_id=product.partner_id,
        product_id=product.product_id,
        plan_id=plan.plan_id,
        quantity=7,
        period_anchor=date.today(),
        status="pending",
        effective_at=datetime.now(UTC),
    )
    await _deliver(
        BILLING_HANDLERS,
        database_url,
        [
            (OrganizationUpdated(organization=organization), tenant.organization_id),
            (ProductPublished(product=product), product.product_id),
            (SubscriptionCreated(subscription=subscription), subscription.subscription_id),
        ],
    )
    mine = issuer.headers(tenant.organization_id, BUSINESS)
    invoices = (await client.get("/invoices", headers=mine)).json()["items"]
    assert len(invoices) == 1, invoices
    tenant.ids = {
        "invoice_id": invoices[0]["invoice_id"],
        "customer_id": str(tenant.organization_id),
    }
    return tenant


async def _seed_integrations(
    client: httpx.AsyncClient, issuer: TestIssuer, database_url: str
) -> Tenant:
    tenant = Tenant(BUSINESS, uuid.uuid4())
    created = await client.post(
        "/webhooks/endpoints",
        json={
            "url": "https://198.51.200.9/secret-path-4242",
            "description": "Наш секретный приёмник",
            "event_types": ["subscription.created"],
        },
        headers=_headers(issuer, tenant.organization_id, BUSINESS),
    )
    assert created.status_code == 201, created.text
    tenant.secrets.add(created.json()["signing_secret"])
    example = SubscriptionCreated.example()
    event = example.model_copy(
        update={
            "subscription": example.subscription.model_copy(
                update={"subscription_id": uuid.uuid4(), "customer_id": tenant.organization_id}
            )
        }
    )
    envelope = build_envelope(
        event, source="/vitrina/orders", subject=event.aggregate_id(), aggregate_version=1
    )
    engine = db.create_engine(database_url, pool_size=1)
    try:
        async with transaction(db.create_session_factory(engine)) as session:
            await webhooks.fan_out(session, event, envelope)
    finally:
        await engine.dispose()
    endpoint_id = created.json()["endpoint_id"]
    mine = issuer.headers(tenant.organization_id, BUSINESS)
    listed = await client.get(f"/webhooks/endpoints/{endpoint_id}/deliveries", headers=mine)
    tenant.ids = {
        "endpoint_id": endpoint_id,
        "delivery_id": listed.json()["items"][0]["delivery_id"],
    }
    return tenant


async def _seed(
    name: str, client: httpx.AsyncClient, issuer: TestIssuer, database_url: str
) -> Tenant:
    match name:
        case "identity":
            return await _seed_identity(client, issuer)
        case "catalog":
            return await _seed_catalog(client, issuer)
        case "orders":
            return await _seed_orders(client, issuer, database_url)
        case "billing":
            return await _seed_billing(client, issuer, database_url)
        case _:
            return await _seed_integrations(client, issuer, database_url)


@pytest.mark.parametrize("name", list(RULES))
async def test_another_organizations_ids_are_404_and_leak_nothing(
    name: str, open_app: Any, databases: dict[str, str], token_issuer: TestIssuer
) -> None:
    rules = RULES[name]
    other_kind = PARTNER if name in ("orders", "billing", "integrations", "identity") else BUSINESS
    async with open_app(name) as client:
        tenant = await _seed(name, client, token_issuer, databases[name])
        if name == "catalog":
            other_kind = BUSINESS
        own = token_issuer.headers(tenant.organization_id, tenant.kind)
        # What A sees of its own resources: none of it may reach anyone else.
        for (method, template), rule in rules.items():
            if method == "GET" and isinstance(rule, Owned):
                seen = await client.get(_path(template, tenant.ids), headers=own)
                assert seen.status_code == 200, (template, seen.text)
                if seen.headers["content-type"].startswith("application/json"):
                    tenant.secrets.update(_strings(seen.json()))
        tenant.secrets -= set(tenant.ids.values())
        tenant.secrets -= {str(tenant.organization_id), "standard", "business", "partner"}

        probers = {
            "same kind": (uuid.uuid4(), tenant.kind),
            "other kind": (uuid.uuid4(), other_kind),
        }
        failures = []
        for (method, template), rule in rules.items():
            if isinstance(rule, Public):
                continue
            body = rule.body
            for who, (organization, kind) in probers.items():
                headers = _headers(token_issuer, organization, kind)
                real = await client.request(
                    method, _path(template, tenant.ids), json=body, headers=headers
                )
                unknown = await client.request(
                    method,
                    _path(template, {}),
                    json=body,
                    headers=_headers(token_issuer, organization, kind),
                )
                leaked = sorted(s for s in tenant.secrets if s in real.text)
                expected = 403 if isinstance(rule, OperatorOnly) else 404
                if (
                    real.status_code != expected
                    or unknown.status_code != expected
                    or real.headers.get("content-type") != PROBLEM_CONTENT_TYPE
                    or leaked
                ):
                    failures.append(
                        (method, template, who, real.status_code, unknown.status_code, leaked)
                    )
    assert not failures, "\n".join(map(str, failures))
