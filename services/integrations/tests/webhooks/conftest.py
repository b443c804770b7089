"""A real partner: an HTTP server on 127.0.0.1 that verifies Vitrina's signatures with the
copyable helper and can be told to fail or to be slow; and the integrations app over a real
database, with settings that let webhooks reach it (http, loopback allow-listed)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from jsonschema import Draft202012Validator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.main import SERVICE
from integrations.settings import IntegrationsSettings
from integrations.webhooks.signing import SIGNATURE_HEADER, InvalidSignature, verify
from vitrina_contracts.layout import event_schema_path
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, migrated_database
from vitrina_kit.testing.database import query


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def message(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Partner:
    """The partner's side: what it was sent, and how it behaves (``mode``: ok, fail, slow)."""

    url: str
    secret: str | None = None
    mode: str = "ok"
    slow_seconds: float = 3.0
    received: list[Received] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hook(request: Request) -> Response:
            body = await request.body()
            try:
                verify(self.secret or "", body, request.headers.get(SIGNATURE_HEADER, ""))
                verified = True
            except InvalidSignature:
                verified = False
            self.received.append(Received(dict(request.headers), body, verified))
            if not verified:
                return Response("bad signature", status_code=400)
            if self.mode == "fail":
                return Response("Service Unavailable", status_code=503)
            if self.mode == "slow":
                await asyncio.sleep(self.slow_seconds)
            return Response(
                json.dumps({"account_id": "acc-42", "status": "ready"}),
                media_type="application/json",
            )

        return app

    @property
    def verified(self) -> list[Received]:
        return [each for each in self.received if each.verified]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def partner() -> Iterator[Partner]:
    port = _free_port()
    partner = Partner(url=f"http://127.0.0.1:{port}/hooks")
    server = uvicorn.Server(
        uvicorn.Config(partner.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the partner's server did not start"
        time.sleep(0.02)
    yield partner
    server.should_exit = True
    thread.join(timeout=10)


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
    """Local-stack settings: http and loopback targets allowed, a short schedule."""
    return IntegrationsSettings(
        database_url=database_url,
        webhook_allow_http=True,
        webhook_allowed_networks=["127.0.0.0/8"],
        webhook_retry_schedule="1m,5m,30m",
        webhook_timeout_seconds=1,
    )


@pytest.fixture
async def client(
    settings: IntegrationsSettings, token_issuer: TestIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(SERVICE, settings, key_source=token_issuer.key_source)
    async with app_client(app) as client:
        yield client


@pytest.fixture
def business_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def business(token_issuer: TestIssuer, business_id: uuid.UUID) -> dict[str, str]:
    return token_issuer.headers(business_id, OrganizationKind.BUSINESS)


@pytest.fixture
def partner_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def partner_headers(token_issuer: TestIssuer, partner_id: uuid.UUID) -> dict[str, str]:
    return token_issuer.headers(partner_id, OrganizationKind.PARTNER)


@pytest.fixture
def stranger(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(uuid.uuid4(), OrganizationKind.BUSINESS)


CONTRACTS = Path(__file__).parents[4] / "contracts"


class Outbox:
    """The events integrations wrote to its outbox, each checked against its contract's JSON
    Schema (what the relay publishes, byte for byte)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    async def events(self, *, type_suffix: str = "") -> list[dict[str, Any]]:
        rows = await query(self.database_url, "SELECT payload FROM outbox_messages ORDER BY id")
        envelopes = [json.loads(row.payload) for row in rows]
        for envelope in envelopes:
            schema = json.loads((CONTRACTS / event_schema_path(envelope["type"])).read_text())
            validator = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            assert [error.message for error in validator.iter_errors(envelope)] == []
        return [each for each in envelopes if each["type"].endswith(type_suffix)]


@pytest.fixture
def outbox(database_url: str) -> Outbox:
    return Outbox(database_url)
