"""What identity needs before it can serve: the operator's organization and its client from
the settings, and a signing key. Run at every start (each replica; idempotent, serialized by
an advisory lock), so a fresh database is usable at once and a changed operator secret in the
settings takes effect on restart."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clients import service as clients
from identity.clock import Clock, utc_now
from identity.keys import service as keys
from identity.organizations import service as organizations
from identity.organizations.schemas import OrganizationCreate
from identity.settings import IdentitySettings
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.db import transaction

logger = logging.getLogger(__name__)

_BOOTSTRAP_LOCK = 0x1D_B0_07


def operator_organization(settings: IdentitySettings) -> OrganizationCreate:
    """The operator's organization as the settings describe it (validated like any other)."""
    return OrganizationCreate(
        kind=OrganizationKind.OPERATOR,
        legal_name=settings.operator_legal_name,
        short_name=settings.operator_short_name,
        inn=settings.operator_inn,
        kpp=settings.operator_kpp,
        ogrn=settings.operator_ogrn,
        legal_address=settings.operator_legal_address,
        contact_email=settings.operator_contact_email,
        contact_phone=settings.operator_contact_phone,
    )


async def bootstrap(
    sessions: async_sessionmaker[AsyncSession], settings: IdentitySettings, clock: Clock = utc_now
) -> None:
    async with transaction(sessions) as session:
        await session.execute(select(func.pg_advisory_xact_lock(_BOOTSTRAP_LOCK)))
        organization = await organizations.ensure_operator_organization(
            session,
            operator_organization(settings),
            organization_id=settings.operator_organization_id,
        )
        await clients.ensure_bootstrap_client(session, settings, organization)
        await keys.ensure_signing_key(session, settings, clock())
        moved = await keys.reencrypt_all(session, settings)
    if moved:
        logger.info("signing keys re-encrypted with the newest key encryption key: %d", moved)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Runs inside the kit's lifespan (routers' lifespans nest in the app's), so the engine and
    # the session factory exist.
    settings: IdentitySettings = app.state.settings
    await bootstrap(app.state.sessions, settings, getattr(app.state, "clock", utc_now))
    yield


router = APIRouter(lifespan=_lifespan)
"""No routes: included for its lifespan, which bootstraps at start-up."""
