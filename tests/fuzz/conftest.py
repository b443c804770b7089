"""Every service's OpenAPI document fuzzed with schemathesis, against the service's app in this
process over its own migrated PostgreSQL database (no workers, no broker).

Each request carries a valid token of the organization kind its route is for (the operator for
moderation and operations, a partner for authoring, a business for buying); about one request in
three is sent by another kind or by nobody instead, because the answer to the wrong caller must
be a documented problem too. A little data is seeded so a path parameter now and then names a
real resource rather than a random id that is simply not found.

What is checked on every answer: no 5xx; the status code, content type and body are the ones the
document declares for the operation; every 4xx is problem+json with type, title and status.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.db import transaction
from vitrina_kit.local import create_database, drop_database
from vitrina_kit.problems import PROBLEM_CONTENT_TYPE
from vitrina_kit.service import Service, build_app
from vitrina_kit.testing import TestIssuer, migrated_database

SERVICES = ("identity", "catalog", "orders", "billing", "integrations")

OPERATOR = OrganizationKind.OPERATOR
PARTNER = OrganizationKind.PARTNER
BUSINESS = OrganizationKind.BUSINESS
ANONYMOUS = None

Kind = OrganizationKind | None
Route = tuple[str | None, str, Kind]  # method (None: any), path pattern, the caller it is for

# First match wins; a path no rule names is a business's (the marketplace's usual customer).
ROUTES: dict[str, list[Route]] = {
    "identity": [
        (None, r"/oauth/token$", ANONYMOUS),  # client authentication, not a bearer token
        (None, r"/\.well-known/", ANONYMOUS),
        ("POST", r"/organizations/register$", ANONYMOUS),
        (None, r"", OPERATOR),
    ],
    "catalog": [
        ("POST", r"/products/\{product_id\}/(approve|reject)$", OPERATOR),
        (None, r"/moderation/", OPERATOR),
        (None, r"/products", PARTNER),
        (None, r"", BUSINESS),
    ],
    "orders": [
        ("POST", r"/subscriptions/\{subscription_id\}/(suspend|resume)$", OPERATOR),
        (None, r"", BUSINESS),
    ],
    "billing": [
        (None, r"/(billing-runs|payments|commission-rates)", OPERATOR),
        ("PUT", r"/accounts/", OPERATOR),
        (None, r"/settlements", PARTNER),
        (None, r"", BUSINESS),
    ],
    "integrations": [
        (None, r"/webhooks/", PARTNER),
        (None, r"", OPERATOR),
    ],
}
COMMON: list[Route] = [(None, r"^/health/", ANONYMOUS), (None, r"^/ops/", OPERATOR)]

NOT_FUZZED: dict[str, pytest.MarkDecorator] = {
    # Readiness asks the broker, which these in-process apps have none of: its 503 (a
    # documented probe answer, not a problem) is the right one here.
    r"^/health/ready$": pytest.mark.skip(reason="needs a broker; its 503 is the probe's answer"),
}

RENEW_AFTER_SECONDS = 240  # identity's tokens live at least 300 s

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def problem_details(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every error is RFC 9457 problem+json with at least type, title and status."""
    if response.status_code < 400 or _documents_another_error_format(case, response):
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.split(";")[0].strip() == PROBLEM_CONTENT_TYPE, (
        f"a {response.status_code} answer of type {content_type!r}, not {PROBLEM_CONTENT_TYPE}"
    )
    body = response.json()
    assert isinstance(body, dict), f"a problem is a JSON object, not {body!r}"
    assert isinstance(body.get("type"), str), f"a problem without a type: {body!r}"
    assert isinstance(body.get("title"), str), f"a problem without a title: {body!r}"
    assert body.get("status") == response.status_code, f"status differs from the answer: {body!r}"
    return True


def _documents_another_error_format(case: Case[Any], response: Response) -> bool:
    """The OAuth endpoints answer errors as RFC 6749 §5.2 requires (``{"error": ...}`` as
    application/json) and document it; content_type_conformance holds them to that."""
    responses = case.operation.definition.raw.get("responses", {})
    documented = responses.get(str(response.status_code), {}).get("content", {})
    return bool(documented) and PROBLEM_CONTENT_TYPE not in documented


@dataclass
class FuzzTarget:
    """One service's app, its schema, a caller of each kind and ids of what was seeded."""

    name: str
    schema: Any  # schemathesis' OpenApiSchema
    callers: dict[OrganizationKind, dict[str, str]]
    seeded: dict[str, list[str]] = field(default_factory=dict)
    renew: Callable[[], dict[OrganizationKind, dict[str, str]]] | None = None
    """Fresh tokens, for callers whose tokens expire before a long run ends (identity's)."""
    renewed_at: float = field(default_factory=time.monotonic)

    def kind_for(self, method: str, path: str) -> Kind:
        for rule_method, pattern, kind in [*COMMON, *ROUTES[self.name]]:
            if rule_method in (None, method.upper()) and re.search(pattern, path):
                return kind
        raise AssertionError(f"no caller rule for {method} {path}")

    def call_and_validate(self, case: Case[Any]) -> int:
        """Send ``case`` as a fitting (or, now and then, an unfitting) caller, check the answer
        (every check raises on a violation) and return its status code."""
        # Hypothesis is derandomized: the same case gets the same caller, so failures replay.
        digest = hashlib.sha256(
            repr((case.path_parameters, case.query, case.body, case.headers)).encode()
        ).digest()
        fitting = self.kind_for(case.operation.method, case.operation.path)
        kind: Kind = fitting
        if fitting is not None and digest[0] % 3 == 0:
            others: list[Kind] = [k for k in OrganizationKind if k is not fitting]
            kind = [*others, ANONYMOUS][digest[1] % 3]
        for name in list(case.path_parameters or {}):
            values = self.seeded.get(name)
            if values and digest[2] % 2 == 0:
                case.path_parameters[name] = values[digest[3] % len(values)]
        if self.renew is not None and time.monotonic() - self.renewed_at > RENEW_AFTER_SECONDS:
            self.callers, self.renewed_at = self.renew(), time.monotonic()
        headers = {} if kind is None else dict(self.callers[kind])
        response = case.call_and_validate(
            headers=headers, checks=CHECKS, additional_checks=[problem_details]
        )
        return int(response.status_code)

    def fuzz(self, method: str, path: str, run_settings: hypothesis.settings) -> list[int]:
        """Fuzz one operation with valid and with invalid input, ``run_settings`` bounding it;
        the status codes answered, in order (a failed check raises)."""
        operation = self.schema[path][method]
        cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
            GenerationMode.NEGATIVE
        )

        @run_settings
        @hypothesis.given(case=cases)
        def run(case: Case[Any]) -> None:
            answered.append(self.call_and_validate(case))

        answered: list[int] = []
        run()
        return answered


def _service(name: str) -> Service:
    module = importlib.import_module(f"{name}.main")
    service: Service = module.SERVICE
    return service


def _ok(response: requests.Response, *expected: int) -> dict[str, Any]:
    assert response.status_code in expected, f"seeding: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def operations(name: str) -> list[tuple[str, str]]:
    """``(method, path)`` of every operation ``name`` documents, read without a database (the
    tests are parametrized by them at collection)."""
    service = _service(name)
    settings = service.settings(database_url="postgresql+asyncpg://fuzz/collection-only")  # type: ignore[call-arg]
    document = build_app(service, settings).openapi()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    ]


class FuzzTargets:
    """Each service's target, made on first use and kept for the session (one database and
    one seeding per service, however many operations are fuzzed)."""

    def __init__(self, postgres_url: str, issuer: TestIssuer) -> None:
        self.postgres_url = postgres_url
        self.issuer = issuer
        self.targets: dict[str, FuzzTarget] = {}
        self.databases: list[str] = []
        self.failed: set[str] = set()

    def __getitem__(self, name: str) -> FuzzTarget:
        if name in self.failed:
            pytest.fail(f"{name} could not be set up for fuzzing (see its first test)")
        if name not in self.targets:
            try:
                self.targets[name] = self._make(name)
            except Exception:
                self.failed.add(name)
                raise
        return self.targets[name]

    def _database(self, label: str) -> str:
        url = (
            make_url(self.postgres_url)
            .set(database=f"t_fuzz_{label}_{uuid.uuid4().hex[:10]}")
            .render_as_string(hide_password=False)
        )
        create_database(url)
        self.databases.append(url)
        return url

    def _make(self, name: str) -> FuzzTarget:
        service = _service(name)
        database_url = migrated_database(self._database, service)
        settings = service.settings(database_url=database_url)  # type: ignore[call-arg]
        if name == "identity":
            # Identity verifies its own tokens: the callers get real ones from its token endpoint.
            app = build_app(service, settings)
        else:
            app = build_app(service, settings, key_source=self.issuer.key_source)
        # Loading the schema starts the app's lifespan on schemathesis' own event-loop thread,
        # where every request to it runs too; it lasts until close().
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        with asgi.get_client(cast(Any, app)) as client:
            return SEEDERS[name](schema, client, database_url, self.issuer)

    def close(self) -> None:
        try:
            asgi.shutdown_lifespans()
        finally:
            for url in self.databases:
                drop_database(url)


@pytest.fixture(scope="session")
def fuzz_targets(postgres_url: str, token_issuer: TestIssuer) -> Iterator[FuzzTargets]:
    targets = FuzzTargets(postgres_url, token_issuer)
    yield targets
    targets.close()


# --- seeding, one function per service ----------------------------------------------------


def _test_callers(issuer: TestIssuer) -> dict[OrganizationKind, dict[str, str]]:
    # Valid for hours: a long fuzz run outlasts the usual ten minutes.
    return {
        kind: {
            "Authorization": "Bearer "
            + issuer.token(organization_id=uuid.uuid4(), kind=kind, lifetime_seconds=6 * 3600)
        }
        for kind in OrganizationKind
    }


def _organization_of(headers: dict[str, str], issuer: TestIssuer) -> str:
    from joserfc import jwt

    token = headers["Authorization"].removeprefix("Bearer ")
    return str(jwt.decode(token, issuer.public_keys).claims["org_id"])


def seed_identity(
    schema: Any, client: requests.Session, database_url: str, issuer: TestIssuer
) -> FuzzTarget:
    from identity.testing import OPERATOR_ID, OPERATOR_SECRET, PARTNER_BODY, basic
    from identity.testing import organization_body as business_body

    def token(client_id: str, secret: str) -> dict[str, str]:
        answer = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(client_id, secret),
        )
        return {"Authorization": f"Bearer {_ok(answer, 200)['access_token']}"}

    operator = token(OPERATOR_ID, OPERATOR_SECRET)
    callers = {OPERATOR: operator}
    credentials = {OPERATOR: (OPERATOR_ID, OPERATOR_SECRET)}
    seeded: dict[str, list[str]] = {"organization_id": [], "client_id": []}
    for kind, body in ((BUSINESS, business_body()), (PARTNER, business_body(**PARTNER_BODY))):
        organization = _ok(
            client.post("/organizations", json=cast(Any, body), headers={**operator, **_key()}), 201
        )
        made = _ok(
            client.post(
                f"/organizations/{organization['id']}/clients",
                json={"name": "ERP", "scopes": ["identity:read", "identity:write"]},
                headers={**operator, **_key()},
            ),
            201,
        )
        credentials[kind] = (made["client_id"], made["client_secret"])
        callers[kind] = token(*credentials[kind])
        seeded["organization_id"].append(organization["id"])
        seeded["client_id"].append(made["client_id"])

    def renew() -> dict[OrganizationKind, dict[str, str]]:
        # The fuzzer may have rotated or revoked a member's client: its old token then stays
        # (and is refused, as documented) rather than failing the run.
        fresh = dict(callers)
        for kind, (client_id, secret) in credentials.items():
            answer = client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                headers=basic(client_id, secret),
            )
            if answer.status_code == 200:
                fresh[kind] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return fresh

    return FuzzTarget("identity", schema, callers, seeded, renew=renew)


def _product_body() -> dict[str, Any]:
    return {
        "slug": f"cloud-server-{uuid.uuid4().hex[:8]}",
        "name": "Облачный сервер",
        "short_description": "Виртуальные серверы в дата-центре оператора.",
        "category": "cloud",
        "plans": [
            {
                "code": "start",
                "name": "Старт",
                "pricing_unit": "vcpu",
                "unit_price": "1250.00",
                "min_quantity": 1,
                "max_quantity": 64,
            }
        ],
    }


def seed_catalog(
    schema: Any, client: requests.Session, database_url: str, issuer: TestIssuer
) -> FuzzTarget:
    callers = _test_callers(issuer)
    partner, operator = callers[PARTNER], callers[OPERATOR]
    seeded: dict[str, list[str]] = {"product_id": [], "plan_id": [], "slug": []}
    for publish in (True, False):
        product = _ok(
            client.post("/products", json=_product_body(), headers={**partner, **_key()}), 201
        )
        seeded["product_id"].append(product["id"])
        seeded["plan_id"].extend(plan["id"] for plan in product["plans"])
        seeded["slug"].append(product["slug"])
        if publish:
            _ok(client.post(f"/products/{product['id']}/submit", headers=partner), 200)
            _ok(client.post(f"/products/{product['id']}/approve", headers=operator), 200)
    return FuzzTarget("catalog", schema, callers, seeded)


def seed_orders(
    schema: Any, client: requests.Session, database_url: str, issuer: TestIssuer
) -> FuzzTarget:
    from orders.catalog.projection import apply_product
    from orders.organizations.projection import apply_organization
    from vitrina_contracts.events.catalog import ProductPublished
    from vitrina_contracts.events.identity import OrganizationUpdated

    callers = _test_callers(issuer)
    buyer = uuid.UUID(_organization_of(callers[BUSINESS], issuer))
    product = ProductPublished.example().product.model_copy(
        update={"partner_id": uuid.UUID(_organization_of(callers[PARTNER], issuer))}
    )

    async def project() -> None:
        engine = db.create_engine(database_url, pool_size=1)
        sessions: async_sessionmaker[AsyncSession] = db.create_session_factory(engine)
        try:
            organization = OrganizationUpdated.example().organization.model_copy(
                update={"organization_id": buyer}
            )
            async with transaction(sessions) as session:
                await apply_organization(session, organization, version=1)
                await apply_product(session, product)
        finally:
            await engine.dispose()

    asyncio.run(project())
    plan = product.plans[0]
    order = _ok(
        client.post(
            "/orders",
            json={"lines": [{"plan_id": str(plan.plan_id), "quantity": plan.min_quantity}]},
            headers={**callers[BUSINESS], **_key()},
        ),
        201,
    )
    subscriptions = [
        item["subscription_id"]
        for item in _ok(client.get("/subscriptions", headers=callers[BUSINESS]), 200)["items"]
    ]
    seeded = {
        "product_id": [str(product.product_id)],
        "order_id": [order["order_id"]],
        "subscription_id": subscriptions,
    }
    return FuzzTarget("orders", schema, callers, seeded)


def seed_billing(
    schema: Any, client: requests.Session, database_url: str, issuer: TestIssuer
) -> FuzzTarget:
    callers = _test_callers(issuer)
    seeded = {
        "customer_id": [_organization_of(callers[BUSINESS], issuer)],
        "partner_id": [_organization_of(callers[PARTNER], issuer)],
    }
    return FuzzTarget("billing", schema, callers, seeded)


def seed_integrations(
    schema: Any, client: requests.Session, database_url: str, issuer: TestIssuer
) -> FuzzTarget:
    callers = _test_callers(issuer)
    # An address literal, not a host name: the target check resolves names, and a fuzz run
    # must not depend on DNS.
    endpoint = _ok(
        client.post(
            "/webhooks/endpoints",
            json={"url": "https://93.184.215.14/vitrina", "event_types": []},
            headers={**callers[PARTNER], **_key()},
        ),
        201,
    )
    seeded = {"endpoint_id": [endpoint["endpoint_id"]]}
    return FuzzTarget("integrations", schema, callers, seeded)


SEEDERS: dict[str, Callable[[Any, requests.Session, str, TestIssuer], FuzzTarget]] = {
    "identity": seed_identity,
    "catalog": seed_catalog,
    "orders": seed_orders,
    "billing": seed_billing,
    "integrations": seed_integrations,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long fuzz run only when asked for by marker (``-m fuzz_long``), so the default suite
    (plain ``pytest``, as ``vitrina test`` runs it) stays bounded."""
    if "fuzz_long" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="the long fuzz run: select it with -m fuzz_long")
    for item in items:
        if item.get_closest_marker("fuzz_long") is not None:
            item.add_marker(skip)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``fuzz_operation``: every ``(service, method, path)`` the services document."""
    if "fuzz_operation" in metafunc.fixturenames:
        metafunc.parametrize(
            "fuzz_operation",
            [
                pytest.param((name, method, path), id=f"{name}:{method} {path}", marks=_marks(path))
                for name in SERVICES
                for method, path in operations(name)
            ],
        )


def _marks(path: str) -> list[pytest.MarkDecorator]:
    for pattern, mark in NOT_FUZZED.items():
        if re.search(pattern, path):
            return [mark]
    return []
