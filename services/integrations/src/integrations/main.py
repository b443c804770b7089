"""The integrations service: its declaration and app factory."""

from pathlib import Path

from fastapi import FastAPI

from integrations import SERVICE_NAME
from integrations.bank.router import router as bank_router
from integrations.connectors.jobs import SECRETS_REENCRYPTION
from integrations.connectors.router import router as connectors_router
from integrations.database import Base
from integrations.edo.jobs import EDO_SENDER, EDO_TRACKER
from integrations.edo.router import router as edo_router
from integrations.messaging.handlers import HANDLERS
from integrations.onec.jobs import ONEC_PAYMENTS, ONEC_SYNC
from integrations.onec.router import router as onec_router
from integrations.settings import IntegrationsSettings
from integrations.webhooks.dispatcher import dispatch_interval, dispatch_round
from integrations.webhooks.router import router as webhooks_router
from vitrina_kit.service import PeriodicJob, Service, build_app

SERVICE = Service(
    name=SERVICE_NAME,
    title="Vitrina integrations",
    description="EDO operators, 1C, banks, partner webhooks; UPD generation.",
    settings=IntegrationsSettings,
    routers=[connectors_router, edo_router, bank_router, webhooks_router, onec_router],
    handlers=HANDLERS,
    jobs=[
        EDO_SENDER,
        EDO_TRACKER,
        SECRETS_REENCRYPTION,
        ONEC_SYNC,
        ONEC_PAYMENTS,
        PeriodicJob(
            name="webhook-deliveries", run=dispatch_round, interval_seconds=dispatch_interval
        ),
    ],
    migrations=Path(__file__).parent / "migrations",
    metadata=Base.metadata,
)


def create_app(
    settings: IntegrationsSettings | None = None, *, with_workers: bool = False
) -> FastAPI:
    return build_app(SERVICE, settings or IntegrationsSettings(), with_workers=with_workers)
