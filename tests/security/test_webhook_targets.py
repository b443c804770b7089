"""Webhook targets are where a partner could point the integrations service at the inside of
the network (SSRF): every spelling of a private address is refused when registered, and a
delivery never follows a redirect."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from integrations.settings import IntegrationsSettings
from integrations.webhooks import service as webhooks
from integrations.webhooks.dispatcher import DispatchRules, dispatch_due
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.orders import SubscriptionCreated
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.db import transaction
from vitrina_kit.testing import TestIssuer
from vitrina_kit.testing.database import query, scalar

REFUSED = {
    "cloud metadata": "https://169.254.169.254/latest/meta-data/",
    "private": "https://10.0.0.1/hook",
    "loopback": "https://127.0.0.1/hook",
    "IPv6 loopback": "https://[::1]/hook",
    "unspecified": "https://0.0.0.0/hook",
    "IPv4-mapped IPv6": "https://[::ffff:127.0.0.1]/hook",
    "IPv4-mapped IPv6, hex": "https://[::ffff:a9fe:a9fe]/hook",
    "IPv4-compatible IPv6": "https://[::7f00:1]/hook",
    "NAT64 of a private address": "https://[64:ff9b::a00:1]/hook",
    "6to4 of a private address": "https://[2002:a9fe:a9fe::1]/hook",
    "IPv6 site-local": "https://[fec0::1]/hook",
    "unique local": "https://[fd00::1]/hook",
    "decimal": "https://2130706433/hook",
    "octal": "https://0177.0.0.1/hook",
    "hex": "https://0x7f.0.0.1/hook",
    "short form": "https://127.1/hook",
    "a name resolving to loopback": "https://localhost/hook",
    "http in production": "http://partner.example/hook",
    "credentials": "https://user:pass@partner.example/hook",
}


@pytest.mark.parametrize("url", REFUSED.values(), ids=REFUSED.keys())
async def test_private_targets_are_refused_and_nothing_is_stored(
    url: str, open_app: Any, databases: dict[str, str], token_issuer: TestIssuer
) -> None:
    partner = uuid.uuid4()
    headers = {
        **token_issuer.headers(partner, OrganizationKind.PARTNER),
        "Idempotency-Key": str(uuid.uuid4()),
    }
    before = await scalar(databases["integrations"], "SELECT count(*) FROM webhook_endpoints")
    async with open_app("integrations") as client:  # production settings: https, public only
        response = await client.post(
            "/webhooks/endpoints", json={"url": url, "event_types": []}, headers=headers
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await scalar(databases["integrations"], "SELECT count(*) FROM webhook_endpoints") == (
        before
    )


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str]
    location: str

    def do_POST(self) -> None:
        self.hits.append(self.path)
        self.send_response(302 if self.location else 200)
        if self.location:
            self.send_header("Location", self.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.do_POST()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(location: str) -> tuple[ThreadingHTTPServer, list[str]]:
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits, "location": location})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


@pytest.fixture
def servers() -> Iterator[tuple[str, list[str], list[str]]]:
    """A partner's URL that redirects to an internal server, and what each was asked."""
    internal, internal_hits = _serve("")
    internal_url = f"http://127.0.0.1:{internal.server_address[1]}/admin"
    redirecting, partner_hits = _serve(internal_url)
    try:
        yield f"http://127.0.0.1:{redirecting.server_address[1]}/hooks", partner_hits, internal_hits
    finally:
        for server in (internal, redirecting):
            server.shutdown()
            server.server_close()


async def test_a_delivery_does_not_follow_a_redirect(
    open_app: Any,
    databases: dict[str, str],
    token_issuer: TestIssuer,
    servers: tuple[str, list[str], list[str]],
) -> None:
    url, partner_hits, internal_hits = servers
    business = uuid.uuid4()
    # The local stack's settings, so that the first hop (127.0.0.1) is allowed at all.
    local: dict[str, Any] = {
        "webhook_allow_http": True,
        "webhook_allowed_networks": ["127.0.0.0/8"],
    }
    async with open_app("integrations", **local) as client:
        created = await client.post(
            "/webhooks/endpoints",
            json={"url": url, "event_types": ["subscription.created"]},
            headers={
                **token_issuer.headers(business, OrganizationKind.BUSINESS),
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
    assert created.status_code == 201, created.text

    engine = db.create_engine(databases["integrations"], pool_size=2)
    sessions = db.create_session_factory(engine)
    try:
        example = SubscriptionCreated.example()
        event = example.model_copy(
            update={
                "subscription": example.subscription.model_copy(
                    update={"subscription_id": uuid.uuid4(), "customer_id": business}
                )
            }
        )
        envelope = build_envelope(
            event, source="/vitrina/orders", subject=event.aggregate_id(), aggregate_version=1
        )
        async with transaction(sessions) as session:
            await webhooks.fan_out(session, event, envelope)
        settings = IntegrationsSettings(database_url=databases["integrations"], **local)
        assert await dispatch_due(sessions, DispatchRules.of(settings)) >= 1
    finally:
        await engine.dispose()

    assert partner_hits == ["/hooks"]
    assert internal_hits == []  # the Location was not followed
    attempts = await query(
        databases["integrations"],
        "SELECT a.status_code FROM webhook_delivery_attempts a"
        " JOIN webhook_deliveries d ON d.delivery_id = a.delivery_id"
        " JOIN webhook_endpoints e ON e.endpoint_id = d.endpoint_id WHERE e.url = :url",
        url=url,
    )
    assert [row.status_code for row in attempts] == [302]  # a failed attempt, retried later
