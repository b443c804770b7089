"""Applying identity's organization events to the catalog's sellers, newest version wins."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.organizations.models import Seller
from vitrina_contracts.events.identity import OrganizationSnapshot
from vitrina_kit.projections import upsert_if_newer

SELLING_KINDS = frozenset({"partner", "operator"})


async def apply_organization(
    session: AsyncSession, organization: OrganizationSnapshot, *, version: int
) -> bool:
    """Keep ``organization`` as of ``version`` if it sells; True if stored."""
    if organization.kind not in SELLING_KINDS:
        return False
    values = {
        "organization_id": organization.organization_id,
        "kind": organization.kind,
        "legal_name": organization.legal_name,
        "short_name": organization.short_name,
        "version": version,
    }
    return await upsert_if_newer(session, Seller, values, key="organization_id")
