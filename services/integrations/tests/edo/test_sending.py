"""The sender's rounds against the simulator when the operator keeps failing, and a closing
document whose buyer has no EDO participant id yet: it waits, and is built once the id is known
(from identity's event, or by the sender's recheck)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import undefer

from integrations.connectors.models import Connector
from integrations.edo import service
from integrations.edo.models import EdoDocument
from integrations.edo.upd import validate
from integrations.organizations.projection import apply_organization
from integrations.settings import DEV_CONNECTOR_ENCRYPTION_KEY, IntegrationsSettings
from vitrina_contracts.events.billing import ClosingDocumentIssued
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_kit import db
from vitrina_kit.db import transaction
from vitrina_kit.vault import Vault

from .conftest import BUYER_BOX, OPERATOR_BOX, Outbox

SIGNER = service.signer_of(IntegrationsSettings())


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url, pool_size=2)
    yield db.create_session_factory(engine)
    await engine.dispose()


async def test_an_operator_that_keeps_failing_fails_the_document_after_the_last_round(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    edo_simulator: str,
    outbox: Outbox,
) -> None:
    issued = ClosingDocumentIssued.example()
    closing = issued.document.model_copy(update={"document_id": uuid.uuid4()})
    async with transaction(sessions) as session:
        session.add(
            Connector(
                connector_id=uuid.uuid4(),
                organization_id=closing.seller.organization_id,
                kind="edo_operator",
                name="diadoc",
                endpoint_url=edo_simulator,
                auth_method="oauth2_client_credentials",
                token_url=f"{edo_simulator}/oauth/token",
                login="vitrina",
                options={"box_id": OPERATOR_BOX},
                secrets_encrypted=Vault(DEV_CONNECTOR_ENCRYPTION_KEY).encrypt(
                    {"client_secret": "operator-secret"}
                ),
                enabled=True,
                version=1,
            )
        )
        await service.record_closing_document(
            session, closing, signer=SIGNER, now=datetime.now(UTC)
        )
    async with httpx.AsyncClient(base_url=edo_simulator) as http:
        fault = {"path": "/V3/PostMessage", "times": 100, "status": 503}
        assert (await http.post("/simulator/faults", json=fault)).status_code == 204

    settings = IntegrationsSettings(
        database_url=database_url,
        edo_send_attempts_per_round=2,
        edo_send_retry_base_seconds=0.01,
        edo_send_interval_seconds=0.01,
        edo_send_max_rounds=3,
    )
    for _ in range(3):
        assert await service.send_due(sessions, settings) == 0
        await asyncio.sleep(0.1)

    async with transaction(sessions) as session:
        document = await session.scalar(
            select(EdoDocument).where(EdoDocument.document_id == closing.document_id)
        )
    assert document is not None
    assert document.status == "failed"
    assert document.send_rounds == 3
    assert document.reason is not None
    assert "HTTP 503" in document.reason
    async with httpx.AsyncClient(base_url=edo_simulator) as http:
        stats = (await http.get("/simulator/stats")).json()
        assert stats["fault /V3/PostMessage"] == 6  # 3 rounds × 2 quick attempts
        assert (await http.get("/simulator/messages")).json() == []
    assert await outbox.types(subject=closing.document_id) == ["edo_document.failed"]


async def test_a_buyer_without_an_edo_id_yet_waits_and_is_built_once_identity_tells_it(
    sessions: async_sessionmaker[AsyncSession], outbox: Outbox
) -> None:
    example = ClosingDocumentIssued.example().document
    buyer_id = uuid.uuid4()
    closing = example.model_copy(
        update={
            "document_id": uuid.uuid4(),
            "buyer": example.buyer.model_copy(
                update={"organization_id": buyer_id, "edo_participant_id": None}
            ),
        }
    )
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        waiting = await service.record_closing_document(session, closing, signer=SIGNER, now=now)
        assert waiting is not None
        assert waiting.status == "awaiting_participant"
        assert waiting.file_name is None
        assert waiting.last_error is not None
        assert f"buyer {buyer_id}" in waiting.last_error
        # Redelivered: still the one document.
        again = await service.record_closing_document(session, closing, signer=SIGNER, now=now)
        assert again is None
    # The sender's recheck finds nothing new: it keeps waiting, rechecked later.
    async with transaction(sessions) as session:
        later = timedelta(minutes=5)
        assert (
            await service.build_awaiting(session, signer=SIGNER, now=now, recheck_after=later) == 0
        )
        assert (
            await service.build_awaiting(session, signer=SIGNER, now=now, recheck_after=later) == 0
        )

    # Identity's event arrives: the document is built in its transaction.
    organization = OrganizationUpdated.example().organization.model_copy(
        update={"organization_id": buyer_id, "edo_participant_id": BUYER_BOX}
    )
    async with transaction(sessions) as session:
        await apply_organization(session, organization, version=2)
        built = await service.build_awaiting(
            session, signer=SIGNER, now=now, organization_id=buyer_id
        )
        assert built == 1
    async with transaction(sessions) as session:
        document = await session.scalar(
            select(EdoDocument)
            .where(EdoDocument.document_id == closing.document_id)
            .options(undefer(EdoDocument.content), undefer(EdoDocument.closing_document))
        )
    assert document is not None
    assert document.status == "pending"
    assert document.recipient_edo_id == BUYER_BOX
    assert document.closing_document is None
    assert document.last_error is None
    assert document.content is not None
    assert document.file_name is not None
    validate(document.content, file_name=document.file_name)
    assert await outbox.types(subject=closing.document_id) == []  # sent is published on sending


async def test_the_senders_recheck_builds_a_document_whose_participant_came_meanwhile(
    sessions: async_sessionmaker[AsyncSession], outbox: Outbox
) -> None:
    """Identity's event applied while the document's own was handled (neither saw the other
    committed): the sender's round picks the document up, once."""
    example = ClosingDocumentIssued.example().document
    buyer_id = uuid.uuid4()
    closing = example.model_copy(
        update={
            "document_id": uuid.uuid4(),
            "buyer": example.buyer.model_copy(
                update={"organization_id": buyer_id, "edo_participant_id": None}
            ),
            "lines": tuple(line.model_copy(update={"okei_code": "999"}) for line in example.lines),
        }
    )
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        await service.record_closing_document(session, closing, signer=SIGNER, now=now)
        organization = OrganizationUpdated.example().organization.model_copy(
            update={"organization_id": buyer_id, "edo_participant_id": BUYER_BOX}
        )
        await apply_organization(session, organization, version=1)
    async with transaction(sessions) as session:
        # Not due yet: a recheck waits its turn.
        early = now - timedelta(seconds=1)
        assert await service.build_awaiting(session, signer=SIGNER, now=early) == 0
        assert await service.build_awaiting(session, signer=SIGNER, now=now) == 1
        assert await service.build_awaiting(session, signer=SIGNER, now=now) == 0
    # This one breaks the format (OKEI 999): it fails loudly once it can be built at all.
    assert await outbox.types(subject=closing.document_id) == ["edo_document.failed"]
