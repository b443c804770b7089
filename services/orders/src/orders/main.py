"""The orders service: its declaration and app factory."""

from pathlib import Path

from fastapi import FastAPI

from orders.catalog.router import router as catalog_router
from orders.database import Base
from orders.messaging.handlers import HANDLERS
from orders.settings import OrdersSettings
from vitrina_kit.service import Service, build_app

SERVICE = Service(
    name="orders",
    title="Vitrina orders",
    description="Businesses order plans from the catalog and manage their subscriptions.",
    settings=OrdersSettings,
    routers=[catalog_router],
    handlers=HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    metadata=Base.metadata,
)


def create_app(settings: OrdersSettings | None = None, *, with_workers: bool = False) -> FastAPI:
    return build_app(SERVICE, settings or OrdersSettings(), with_workers=with_workers)
