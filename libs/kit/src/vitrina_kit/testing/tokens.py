"""Access tokens for tests that do not run the identity service.

:class:`TestIssuer` signs tokens exactly as identity does (ES256, RFC 9068 claims) with a key of
its own, and can publish that key as a JWKS over HTTP so services running as processes accept
its tokens too. Tests of identity itself, and the end-to-end ones, use real identity tokens.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from vitrina_kit.auth import OPERATOR_ONLY_SCOPES, OrganizationKind, StaticKeySource
from vitrina_kit.settings import ServiceSettings

_DEFAULTS = ServiceSettings(service_name="defaults")

ALL_SCOPES = frozenset(
    {
        "catalog:read", "catalog:write", "catalog:moderate",
        "orders:read", "orders:write",
        "billing:read", "billing:write",
        "integrations:read", "integrations:write",
        "identity:read", "identity:write", "identity:admin",
        "ops:read",
    }
)  # fmt: skip


class TestIssuer:
    """Signs access tokens for tests; its public key set is :attr:`key_source`."""

    __test__ = False  # not a test class, despite the name

    def __init__(
        self,
        *,
        issuer: str = _DEFAULTS.auth_issuer,
        audience: str = _DEFAULTS.auth_audience,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.key = new_signing_key()
        self._published = [self.key]
        self.jwks_url: str | None = None
        self.jwks_requests = 0

    @property
    def public_keys(self) -> KeySet:
        """The keys in the JWKS: the signing key and any still published beside it."""
        return KeySet.import_key_set(KeySet(list(self._published)).as_dict(private=False))

    def rotate_key(self) -> ECKey:
        """Publish a new key and sign with it from now on; the old one stays published."""
        self.key = new_signing_key()
        self._published.append(self.key)
        return self.key

    @property
    def key_source(self) -> StaticKeySource:
        return StaticKeySource(self.public_keys)

    def token(
        self,
        *,
        organization_id: uuid.UUID,
        kind: OrganizationKind | str,
        scopes: frozenset[str] | set[str] | list[str] | None = None,
        client_id: str | None = None,
        lifetime_seconds: int = 600,
        issued_at: int | None = None,
        key: ECKey | None = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed access token; any claim or header field can be overridden to break it."""
        now = int(time.time()) if issued_at is None else issued_at
        scopes = default_scopes(kind) if scopes is None else scopes
        signing_key = key or self.key
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client_id or f"test-{organization_id}",
            "client_id": client_id or f"test-{organization_id}",
            "org_id": str(organization_id),
            "org_kind": str(kind),
            "scope": " ".join(sorted(scopes)),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_seconds,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        protected = {"alg": "ES256", "typ": "at+jwt", "kid": signing_key.kid, **(header or {})}
        return jwt.encode(protected, payload, signing_key)

    def headers(
        self,
        organization_id: uuid.UUID,
        kind: OrganizationKind | str,
        scopes: frozenset[str] | set[str] | list[str] | None = None,
    ) -> dict[str, str]:
        """``Authorization`` header of a caller from ``organization_id``."""
        token = self.token(organization_id=organization_id, kind=kind, scopes=scopes)
        return {"Authorization": f"Bearer {token}"}

    @contextmanager
    def serving_jwks(self) -> Iterator[str]:
        """Publish the public keys at ``http://127.0.0.1:<port>/jwks.json`` while in the block."""
        issuer = self

        class Jwks(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.jwks_requests += 1
                body = json.dumps(issuer.public_keys.as_dict()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.jwks_url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        try:
            yield self.jwks_url
        finally:
            server.shutdown()
            server.server_close()
            self.jwks_url = None


def default_scopes(kind: OrganizationKind | str) -> frozenset[str]:
    """Every scope an organization of ``kind`` may hold."""
    if OrganizationKind(kind) is OrganizationKind.OPERATOR:
        return ALL_SCOPES
    return ALL_SCOPES - OPERATOR_ONLY_SCOPES


def new_signing_key() -> ECKey:
    """A fresh ES256 key with a unique ``kid``."""
    return ECKey.generate_key(
        "P-256", parameters={"kid": uuid.uuid4().hex, "alg": "ES256", "use": "sig"}, private=True
    )
