"""A partner's provisioning endpoint: the ISV's own server that Vitrina calls when one of its
products is subscribed, changed, suspended or cancelled. A real HTTP server.

In a test: ``with running(PartnerConfig(...)) as partner: ...``; register ``partner.url`` as the
partner's provisioning endpoint in integrations, then give the server the signing secret the
registration answered (``partner.secret = ...``).

What the partner does, as a partner following Vitrina's documentation would:

- verifies ``Vitrina-Signature: t=<unix seconds>,v1=<hex>`` — HMAC-SHA256 keyed with the
  endpoint's secret over ``f"{t}.{body}"``, the raw body — and refuses (400) a signature that does
  not match or whose timestamp is outside the replay window, by *its own* clock (``clock``: the
  partner's idea of now, so a test whose marketplace lives in another time can agree with it);
- acknowledges a verified call with 200 and ``{"account_id": ..., "status": "ready"}``: its own
  id for the customer's account, one per subscription;
- takes the events it subscribed to at ``events_url`` (another endpoint of the same server),
  verified the same way and acknowledged with 204;
- while integrations rotates the endpoint's secret, deliveries carry one ``v1`` per secret in
  force (``t=...,v1=<new>,v1=<old>``): any one matching the partner's secret is enough, so the
  partner verifies whether it already switched to the new secret (``partner.secret = new``) or
  not yet.

The verification is written here from the documented scheme, not imported from the service, so
it also checks that what integrations signs is what it documents.

What it does not model: TLS (it serves plain http on loopback, which integrations accepts only
with ``webhook_allow_http`` and an allow-listed network), deduplication by the message ``id`` (it
records every call; tests count them), slow or failing answers (the webhook tests' own partner
does those), a partner's asynchronous provisioning (it is always ``ready`` at once), and
persistence (memory only).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

SIGNATURE_HEADER = "Vitrina-Signature"
REPLAY_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class Call:
    """One request the partner received, and whether its signature held."""

    headers: dict[str, str]
    body: bytes
    verified: bool
    refusal: str | None = None

    @property
    def message(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class PartnerServer:
    """The partner's side: what it was sent; ``secret`` is set once the endpoint is registered."""

    url: str
    clock: Callable[[], float] = time.time
    secret: str | None = None
    calls: list[Call] = field(default_factory=list)
    accounts: dict[str, str] = field(default_factory=dict)

    @property
    def verified(self) -> list[Call]:
        return [call for call in self.calls if call.verified]

    @property
    def events_url(self) -> str:
        """Where the partner takes the events it subscribed to."""
        return self.url.removesuffix("/provisioning") + "/events"

    def check(self, body: bytes, header: str) -> str | None:
        """Why the signature is refused, or None when it holds."""
        fields = [item.strip().partition("=") for item in header.split(",")]
        stamps = [value for key, _, value in fields if key == "t" and value.isdigit()]
        candidates = [value for key, _, value in fields if key == "v1" and value]
        if len(stamps) != 1 or not candidates or self.secret is None:
            return "malformed signature header (or no secret yet)"
        timestamp = int(stamps[0])
        if abs(self.clock() - timestamp) > REPLAY_WINDOW_SECONDS:
            return "timestamp outside the replay window"
        expected = hmac.new(
            self.secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return "no signature matches the body"
        return None

    def app(self) -> FastAPI:
        app = FastAPI(title="Partner provisioning endpoint (simulator)")

        @app.post("/provisioning")
        async def provisioning(request: Request) -> Response:
            body = await request.body()
            refusal = self.check(body, request.headers.get(SIGNATURE_HEADER, ""))
            self.calls.append(Call(dict(request.headers), body, refusal is None, refusal))
            if refusal is not None:
                return Response(refusal, status_code=400)
            subscription = json.loads(body).get("data", {}).get("subscription", {})
            key = str(subscription.get("subscription_id", "unknown"))
            account = self.accounts.setdefault(key, f"acc-{len(self.accounts) + 1:04d}")
            return Response(
                json.dumps({"account_id": account, "status": "ready"}),
                media_type="application/json",
            )

        @app.post("/events")
        async def events(request: Request) -> Response:
            body = await request.body()
            refusal = self.check(body, request.headers.get(SIGNATURE_HEADER, ""))
            self.calls.append(Call(dict(request.headers), body, refusal is None, refusal))
            if refusal is not None:
                return Response(refusal, status_code=400)
            return Response(status_code=204)

        return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running(
    *, clock: Callable[[], float] = time.time, port: int | None = None
) -> Iterator[PartnerServer]:
    """Serve a partner's provisioning endpoint on 127.0.0.1 in a background thread."""
    port = port or free_port()
    partner = PartnerServer(url=f"http://127.0.0.1:{port}/provisioning", clock=clock)
    server = uvicorn.Server(
        uvicorn.Config(partner.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name=f"partner-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the partner's server did not start on port {port}")
        time.sleep(0.02)
    try:
        yield partner
    finally:
        server.should_exit = True
        thread.join(timeout=10)
