"""Applying identity's organization events to integrations' copy, newest version wins."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from integrations.organizations.models import Organization
from vitrina_contracts.events.identity import OrganizationSnapshot
from vitrina_kit.projections import upsert_if_newer


async def apply_organization(
    session: AsyncSession, organization: OrganizationSnapshot, *, version: int
) -> bool:
    """Store ``organization`` as of ``version`` (the envelope's aggregate version) unless a
    newer one is here; True if applied, False if what is held is as new or newer."""
    values = {
        "organization_id": organization.organization_id,
        "kind": organization.kind,
        "legal_name": organization.legal_name,
        "inn": organization.inn,
        "kpp": organization.kpp,
        "edo_participant_id": organization.edo_participant_id,
        "version": version,
    }
    return await upsert_if_newer(session, Organization, values, key="organization_id")


async def edo_participant_id(session: AsyncSession, organization_id: uuid.UUID) -> str | None:
    """The organization's participant id at the EDO operator, as identity last told it."""
    organization = await session.get(Organization, organization_id)
    return organization.edo_participant_id if organization else None
