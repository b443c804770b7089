"""The identity service: its declaration and app factory."""

from pathlib import Path

from fastapi import FastAPI

from identity.database import Base
from identity.messaging.handlers import HANDLERS
from identity.settings import IdentitySettings
from vitrina_kit.service import Service, build_app

SERVICE = Service(
    name="identity",
    title="Vitrina identity",
    description="Organizations, API clients, signing keys, OAuth 2.0 tokens.",
    settings=IdentitySettings,
    routers=[],
    handlers=HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    metadata=Base.metadata,
)


def create_app(settings: IdentitySettings | None = None, *, with_workers: bool = False) -> FastAPI:
    return build_app(SERVICE, settings or IdentitySettings(), with_workers=with_workers)
