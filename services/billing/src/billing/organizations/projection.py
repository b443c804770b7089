"""Applying identity's organization events to billing's copy, newest version wins."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from billing.organizations.models import Organization
from vitrina_contracts.events.identity import OrganizationSnapshot


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
    statement = upsert(Organization).values(values)
    applied = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=[Organization.organization_id],
            set_={
                **{key: statement.excluded[key] for key in values if key != "organization_id"},
                # Column onupdate defaults do not fire in ON CONFLICT DO UPDATE.
                "updated_at": func.now(),
            },
            where=Organization.version < statement.excluded.version,
        ).returning(Organization.organization_id)
    )
    return applied is not None  # None: stale or repeated, what we hold is as new or newer
