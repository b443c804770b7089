"""Applying identity's organization events to billing's copy, newest version wins."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billing.organizations.models import Organization
from vitrina_contracts.events.identity import OrganizationSnapshot
from vitrina_kit.projections import upsert_if_newer


async def apply_organization(
    session: AsyncSession, organization: OrganizationSnapshot, *, version: int
) -> bool:
    """Store ``organization`` as of ``version`` unless a newer one is here; True if applied.

    ``version`` is the envelope's aggregate version (the snapshot carries it only since the
    Identity issue). The check is part of the upsert, so two consumers racing on one
    organization cannot put an older state over a newer one.
    """
    bank = organization.bank_details
    values = {
        "organization_id": organization.organization_id,
        "kind": organization.kind,
        "legal_name": organization.legal_name,
        "short_name": organization.short_name,
        "inn": organization.inn,
        "kpp": organization.kpp,
        "legal_address": organization.legal_address,
        "edo_participant_id": organization.edo_participant_id,
        "bank_name": bank.bank_name if bank else None,
        "bik": bank.bik if bank else None,
        "settlement_account": bank.settlement_account if bank else None,
        "correspondent_account": bank.correspondent_account if bank else None,
        "version": version,
    }
    # False: stale or repeated, what we hold is as new or newer.
    return await upsert_if_newer(session, Organization, values, key="organization_id")
