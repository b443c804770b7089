"""The identity service: its declaration and app factory."""

from pathlib import Path

from fastapi import FastAPI

from identity import bootstrap
from identity.clients.router import router as clients_router
from identity.clock import Clock
from identity.database import Base
from identity.keys.router import router as keys_router
from identity.keys.source import local_key_source
from identity.messaging.handlers import HANDLERS
from identity.oauth.router import router as oauth_router
from identity.organizations.router import router as organizations_router
from identity.settings import IdentitySettings
from vitrina_kit.service import Service, build_app

SERVICE = Service(
    name="identity",
    title="Vitrina identity",
    description="Organizations, API clients, signing keys, OAuth 2.0 tokens.",
    settings=IdentitySettings,
    routers=[
        bootstrap.router,
        oauth_router,
        keys_router,
        organizations_router,
        clients_router,
    ],
    handlers=HANDLERS,
    key_source=local_key_source,
    migrations=Path(__file__).parent / "migrations",
    metadata=Base.metadata,
)


def create_app(
    settings: IdentitySettings | None = None,
    *,
    with_workers: bool = False,
    clock: Clock | None = None,
) -> FastAPI:
    """The app; ``clock`` (tests) replaces the real time in every rule that turns on it."""
    app = build_app(SERVICE, settings or IdentitySettings(), with_workers=with_workers)
    if clock is not None:
        app.state.clock = clock
    return app
