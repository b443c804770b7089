"""The integrations service: its declaration and app factory."""

from pathlib import Path

from fastapi import FastAPI

from integrations.database import Base
from integrations.messaging.handlers import HANDLERS
from integrations.settings import IntegrationsSettings
from vitrina_kit.service import Service, build_app

SERVICE = Service(
    name="integrations",
    title="Vitrina integrations",
    description="EDO operators, 1C, banks, partner webhooks; UPD generation.",
    settings=IntegrationsSettings,
    routers=[],
    handlers=HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    metadata=Base.metadata,
)


def create_app(
    settings: IntegrationsSettings | None = None, *, with_workers: bool = False
) -> FastAPI:
    return build_app(SERVICE, settings or IntegrationsSettings(), with_workers=with_workers)
