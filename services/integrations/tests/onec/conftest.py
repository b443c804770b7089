from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from vitrina_simulators.onec import OneCConfig, odata_root, running

from integrations.main import SERVICE
from integrations.settings import IntegrationsSettings
from vitrina_contracts.events.billing import ClosingDocumentIssued, InvoiceIssued
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, migrated_database

BASE = "accounting"
LOGIN, PASSWORD = "odata", "s3cret"
OPERATOR_ID = InvoiceIssued.example().invoice.seller.organization_id
OPERATOR_ACCOUNT = "40702810400000012345"


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url, pool_size=2)
    yield db.create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def settings(database_url: str) -> IntegrationsSettings:
    return IntegrationsSettings(
        database_url=database_url,
        onec_sync_retry_base_seconds=0.01,
        connector_timeout_seconds=0.5,
        operator_account=OPERATOR_ACCOUNT,
        # The receipts of the tests are of December 2026, whatever today is.
        onec_payments_first_date=date(2026, 11, 1),
    )


@pytest.fixture
def onec_server() -> Iterator[str]:
    """The 1C simulator as a real HTTP server on a free port."""
    with running(OneCConfig(users={LOGIN: PASSWORD}, base=BASE)) as url:
        yield url


class OneC:
    """The simulator seen from a test: its OData (as 1C's own user) and its test controls."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.root = odata_root(server, BASE)

    async def entities(self, entity_set: str, **params: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(auth=(LOGIN, PASSWORD)) as client:
            response = await client.get(
                f"{self.root}/{entity_set}", params={"$format": "json", **params}
            )
            response.raise_for_status()
            found: list[dict[str, Any]] = response.json()["value"]
            return found

    async def create(self, entity_set: str, fields: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(auth=(LOGIN, PASSWORD)) as client:
            response = await client.post(
                f"{self.root}/{entity_set}", params={"$format": "json"}, json=fields
            )
            assert response.status_code == 201, response.text
            created: dict[str, Any] = response.json()
            return created

    async def post(self, entity_set: str, ref_key: str) -> None:
        async with httpx.AsyncClient(auth=(LOGIN, PASSWORD)) as client:
            response = await client.post(f"{self.root}/{entity_set}(guid'{ref_key}')/Post()")
            response.raise_for_status()

    async def fault(self, **fault: Any) -> None:
        async with httpx.AsyncClient() as client:
            (await client.post(f"{self.server}/simulator/faults", json=fault)).raise_for_status()

    async def stats(self) -> dict[str, int]:
        async with httpx.AsyncClient() as client:
            stats: dict[str, int] = (await client.get(f"{self.server}/simulator/stats")).json()
            return stats


@pytest.fixture
def onec(onec_server: str) -> OneC:
    return OneC(onec_server)


@pytest.fixture
def operator_headers(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(OPERATOR_ID, OrganizationKind.OPERATOR)


@pytest.fixture
async def client(
    settings: IntegrationsSettings, token_issuer: TestIssuer, operator_headers: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(SERVICE, settings, key_source=token_issuer.key_source)
    async with app_client(app) as client:
        client.headers.update(operator_headers)
        yield client


async def add_connector(
    client: httpx.AsyncClient, onec: OneC, *, password: str = PASSWORD
) -> dict[str, Any]:
    """The operator's 1C connector, configured through the registry's API."""
    response = await client.post(
        "/connectors",
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json={
            "kind": "onec_odata",
            "name": f"1c-{uuid.uuid4().hex[:6]}",
            "endpoint_url": onec.root,
            "auth_method": "basic",
            "login": LOGIN,
            "secrets": {"password": password},
            "options": {"organization_key": "5b0d1a3e-7c11-4f0e-9a3b-2d4c6e8f0a12"},
        },
    )
    assert response.status_code == 201, response.text
    connector: dict[str, Any] = response.json()
    return connector


def new_invoice(**changes: Any) -> InvoiceIssued:
    """The contract's example as a new invoice (its own id and number)."""
    example = InvoiceIssued.example().invoice
    number = f"2025-{uuid.uuid4().int % 1_000_000:06d}"
    return InvoiceIssued(
        invoice=example.model_copy(
            update={"document_id": uuid.uuid4(), "number": number, **changes}
        )
    )


def new_closing_document(**changes: Any) -> ClosingDocumentIssued:
    example = ClosingDocumentIssued.example().document
    number = f"2025-{uuid.uuid4().int % 1_000_000:06d}"
    return ClosingDocumentIssued(
        document=example.model_copy(
            update={"document_id": uuid.uuid4(), "number": number, **changes}
        )
    )
