"""The orders service: its declaration and app factory."""

from pathlib import Path

from fastapi import FastAPI

from orders.catalog.router import router as catalog_router
from orders.database import Base
from orders.messaging.handlers import HANDLERS
from orders.orders.router import router as orders_router
from orders.settings import OrdersSettings
from orders.subscriptions.router import ops_router as subscriptions_ops_router
from orders.subscriptions.router import router as subscriptions_router
from orders.subscriptions.scheduler import scheduler_interval, scheduler_round
from vitrina_kit.service import PeriodicJob, Service, build_app

SERVICE = Service(
    name="orders",
    title="Vitrina orders",
    description="Businesses order plans from the catalog and manage their subscriptions.",
    settings=OrdersSettings,
    routers=[catalog_router, orders_router, subscriptions_router, subscriptions_ops_router],
    handlers=HANDLERS,
    jobs=[
        PeriodicJob(
            name="subscriptions-scheduler", run=scheduler_round, interval_seconds=scheduler_interval
        )
    ],
    migrations=Path(__file__).parent / "migrations",
    metadata=Base.metadata,
)


def create_app(settings: OrdersSettings | None = None, *, with_workers: bool = False) -> FastAPI:
    return build_app(SERVICE, settings or OrdersSettings(), with_workers=with_workers)
