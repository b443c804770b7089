"""Integrations' copy of the organizations: the newest version wins, whatever the order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.main import SERVICE
from integrations.organizations.projection import apply_organization, edo_participant_id
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_kit import db
from vitrina_kit.db import transaction
from vitrina_kit.testing import migrated_database


@pytest.fixture
async def sessions(
    make_database: Callable[[str], str],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(migrated_database(make_database, SERVICE), pool_size=2)
    yield db.create_session_factory(engine)
    await engine.dispose()


async def test_a_stale_event_never_overwrites_a_newer_edo_id(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    organization_id = uuid.uuid4()
    example = OrganizationUpdated.example().organization
    joined = example.model_copy(
        update={"organization_id": organization_id, "edo_participant_id": "2BM-new"}
    )
    before = example.model_copy(
        update={"organization_id": organization_id, "edo_participant_id": None}
    )
    async with transaction(sessions) as session:
        assert await apply_organization(session, joined, version=3)
        assert not await apply_organization(session, before, version=2)
        assert not await apply_organization(session, joined, version=3)
    async with transaction(sessions) as session:
        assert await edo_participant_id(session, organization_id) == "2BM-new"
        assert await edo_participant_id(session, uuid.uuid4()) is None
