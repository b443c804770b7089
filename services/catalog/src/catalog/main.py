"""The catalog service: its declaration and app factory."""

from pathlib import Path

from fastapi import FastAPI

from catalog.categories.router import router as categories_router
from catalog.database import Base
from catalog.messaging.handlers import HANDLERS
from catalog.products.router import moderation_router
from catalog.products.router import router as products_router
from catalog.settings import CatalogSettings
from catalog.storefront.router import router as storefront_router
from vitrina_kit.service import Service, build_app

SERVICE = Service(
    name="catalog",
    title="Vitrina catalog",
    description="Partners publish products and plans; businesses browse the storefront.",
    settings=CatalogSettings,
    routers=[storefront_router, products_router, moderation_router, categories_router],
    handlers=HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    metadata=Base.metadata,
)


def create_app(settings: CatalogSettings | None = None, *, with_workers: bool = False) -> FastAPI:
    return build_app(SERVICE, settings or CatalogSettings(), with_workers=with_workers)
