"""The integrations service: its declaration and app factory."""

from pathlib import Path

from fastapi import FastAPI
from vitrina_kit.service import Service, build_app

from integrations.messaging.handlers import HANDLERS
from integrations.settings import IntegrationsSettings

SERVICE = Service(
    name="integrations",
    title="Vitrina integrations",
    description="Connectors to EDO operators, 1C, banks and partner webhooks; UPD generation.",
    settings=IntegrationsSettings,
    routers=[],
    handlers=HANDLERS,
    migrations=Path(__file__).parent / "migrations",
)


def create_app(settings: IntegrationsSettings | None = None, *, with_workers: bool = False) -> FastAPI:
    return build_app(SERVICE, settings or IntegrationsSettings(), with_workers=with_workers)
