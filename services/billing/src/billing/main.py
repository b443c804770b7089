"""The billing service: its declaration and app factory."""

from pathlib import Path

from fastapi import FastAPI

from billing.accounts.router import router as accounts_router
from billing.database import Base
from billing.invoices.router import router as documents_router
from billing.messaging.handlers import HANDLERS
from billing.payments.router import router as payments_router
from billing.runs.jobs import BILLING_CALENDAR, DUNNING
from billing.runs.router import router as runs_router
from billing.settings import BillingSettings
from billing.settlements.router import router as settlements_router
from vitrina_kit.service import Service, build_app

SERVICE = Service(
    name="billing",
    title="Vitrina billing",
    description="Billing accounts, invoices, UPDs, VAT, payments, dunning, partner settlements.",
    settings=BillingSettings,
    routers=[documents_router, accounts_router, payments_router, runs_router, settlements_router],
    handlers=HANDLERS,
    jobs=[BILLING_CALENDAR, DUNNING],
    migrations=Path(__file__).parent / "migrations",
    metadata=Base.metadata,
)


def create_app(settings: BillingSettings | None = None, *, with_workers: bool = False) -> FastAPI:
    return build_app(SERVICE, settings or BillingSettings(), with_workers=with_workers)
