"""Orders' copy of the organizations: newest version wins, whatever order events arrive in."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.organizations.projection import apply_organization
from orders.organizations.repository import get_organization
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationSnapshot
from vitrina_kit.db import transaction


def organization(organization_id: uuid.UUID, **changes: object) -> OrganizationSnapshot:
    """The contract's example business (ООО «Ромашка», pending), under another id."""
    example = OrganizationRegistered.example().organization
    return example.model_copy(update={"organization_id": organization_id, **changes})


async def apply(
    sessions: async_sessionmaker[AsyncSession], snapshot: OrganizationSnapshot, *, version: int
) -> bool:
    async with transaction(sessions) as session:
        return await apply_organization(session, snapshot, version=version)


async def state(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
) -> tuple[object, ...] | None:
    async with sessions() as session:
        held = await get_organization(session, organization_id)
    if held is None:
        return None
    return (held.status, held.edo_participant_id, held.version)


async def test_a_registered_organization_is_kept_with_its_requisites(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    organization_id = uuid.uuid4()
    async with sessions() as session:
        assert await get_organization(session, organization_id) is None

    assert await apply(sessions, organization(organization_id), version=1)

    async with sessions() as session:
        held = await get_organization(session, organization_id)
    assert held is not None
    example = OrganizationRegistered.example().organization
    assert (held.kind, held.status, held.version) == ("business", "pending", 1)
    assert (held.legal_name, held.short_name) == (example.legal_name, example.short_name)
    assert (held.inn, held.kpp, held.legal_address) == (
        example.inn,
        example.kpp,
        example.legal_address,
    )
    assert held.edo_participant_id is None


async def test_a_newer_version_replaces_it(sessions: async_sessionmaker[AsyncSession]) -> None:
    organization_id = uuid.uuid4()
    await apply(sessions, organization(organization_id), version=1)

    approved = organization(organization_id, status="active", edo_participant_id="2BM-7701234567")
    assert await apply(sessions, approved, version=3)

    assert await state(sessions, organization_id) == ("active", "2BM-7701234567", 3)


async def test_a_late_or_repeated_event_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    organization_id = uuid.uuid4()
    await apply(sessions, organization(organization_id, status="active"), version=3)

    assert not await apply(sessions, organization(organization_id, status="pending"), version=2)
    assert not await apply(sessions, organization(organization_id, status="rejected"), version=3)

    assert await state(sessions, organization_id) == ("active", None, 3)


async def test_an_event_from_before_statuses_existed_is_still_applied(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Such snapshots carry neither a status nor a version; the envelope's version decides.
    organization_id = uuid.uuid4()

    assert await apply(
        sessions, organization(organization_id, status=None, version=None), version=1
    )

    assert await state(sessions, organization_id) == (None, None, 1)
