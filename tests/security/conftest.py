"""The five services' apps in this process, over real PostgreSQL databases migrated once for
the whole session, accepting the session's test tokens; and what their routes declare.

Every test here works with ids of its own (fresh organizations, fresh resources), so sharing a
database between tests is safe and saves a migration per test.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from sqlalchemy.engine import make_url

from vitrina_kit.auth import authenticated
from vitrina_kit.local import create_database, drop_database
from vitrina_kit.migrations import upgrade
from vitrina_kit.service import Service, build_app
from vitrina_kit.testing import TestIssuer, app_client

SERVICE_NAMES = ("identity", "catalog", "orders", "billing", "integrations")


def service(name: str) -> Service:
    found: Service = importlib.import_module(f"{name}.main").SERVICE
    return found


@pytest.fixture(scope="session")
def databases(postgres_url: str) -> Iterator[dict[str, str]]:
    """One migrated database per service for the session."""
    urls: dict[str, str] = {}
    try:
        for name in SERVICE_NAMES:
            database = f"t_security_{name}_{uuid.uuid4().hex[:8]}"
            url = make_url(postgres_url).set(database=database).render_as_string(False)
            create_database(url)
            urls[name] = url
            upgrade(service(name).migrations, url)
        yield urls
    finally:
        for url in urls.values():
            drop_database(url)


OpenApp = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def open_app(databases: dict[str, str], token_issuer: TestIssuer) -> OpenApp:
    """``async with open_app("catalog", **settings) as client``: the service's app, accepting
    ``token_issuer``'s tokens (identity's too: its own keys are not what is probed here)."""

    @asynccontextmanager
    async def open_(name: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        async with app_client(app_of(name, databases[name], token_issuer, **settings)) as client:
            yield client

    return open_


def app_of(name: str, database_url: str, issuer: TestIssuer, **settings: Any) -> FastAPI:
    declared = service(name)
    configured = declared.settings().model_copy(update={"database_url": database_url, **settings})
    return build_app(declared, configured, key_source=issuer.key_source)


@dataclass(frozen=True)
class RouteInfo:
    """What a route declares: its method and path, whether it asks for a token, which scopes."""

    method: str
    path: str
    protected: bool
    scopes: frozenset[str]
    path_params: frozenset[str]


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def routes(app: FastAPI) -> list[RouteInfo]:
    """Every API route of ``app`` (one per method), read from the app itself: a route added
    tomorrow is in the list without anyone remembering to add it."""
    found = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue  # docs, the OpenAPI document, /metrics: no parameters, no business data
        auth = [d for d in _dependants(dependant) if d.call is authenticated]
        scopes = frozenset(
            scope
            for d in auth
            for scope in [*(d.own_oauth_scopes or []), *(d.parent_oauth_scopes or [])]
        )
        params = frozenset(p.name for d in _dependants(dependant) for p in d.path_params)
        for method in sorted(route.methods or ()):
            found.append(RouteInfo(method, str(route.path), bool(auth), scopes, params))
    return found


@pytest.fixture(scope="session")
def route_table(token_issuer: TestIssuer) -> dict[str, list[RouteInfo]]:
    """Every service's routes, by service name."""
    unused = "postgresql+asyncpg://unused@127.0.0.1/unused"  # no lifespan: never connected
    return {name: routes(app_of(name, unused, token_issuer)) for name in SERVICE_NAMES}
