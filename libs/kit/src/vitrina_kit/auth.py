"""Who is calling, and may they: OAuth 2.0 access tokens verified the same way in every service.

The identity service issues short-lived JWTs (RFC 9068 profile, ES256) to API clients; every
service verifies them against identity's published keys (JWKS), checks issuer, audience, time
and the scopes its route declares, and hands the route a :class:`Caller`. A route declares::

    caller: Annotated[Caller, requires("catalog:write")]

Repositories then scope their queries by ``caller.organization_id`` (the operator sees all).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from typing import Any, Protocol

import httpx
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from vitrina_kit import audit, context
from vitrina_kit.api import SessionDep
from vitrina_kit.problems import DomainError

TOKEN_TYPE = "at+jwt"  # noqa: S105 - the JWT "typ" of access tokens (RFC 9068), not a secret
ALGORITHMS = ["ES256"]


OPERATOR_ONLY_SCOPES = frozenset({"catalog:moderate", "identity:admin", "ops:read"})
"""Scopes only the operator's clients hold; on anyone else's token they count for nothing."""


class OrganizationKind(StrEnum):
    PARTNER = "partner"
    BUSINESS = "business"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Caller:
    """The API client making a request, and the organization it acts for."""

    client_id: str
    organization_id: uuid.UUID
    organization_kind: OrganizationKind
    scopes: frozenset[str]

    @property
    def is_operator(self) -> bool:
        """The marketplace operator acts on every organization's resources."""
        return self.organization_kind is OrganizationKind.OPERATOR


class InvalidToken(DomainError):
    status = HTTPStatus.UNAUTHORIZED
    code = "invalid_token"
    title = "The access token is missing, malformed, expired or not for this API"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        # RFC 6750 §3: tell the client how to authenticate; never why in detail beyond this.
        self.headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class InsufficientScope(DomainError):
    status = HTTPStatus.FORBIDDEN
    code = "insufficient_scope"
    title = "The access token lacks a scope this operation needs"

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"This operation needs the scope(s): {' '.join(missing)}.")
        self.headers = {
            "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(missing)}"'
        }


class KeySource(Protocol):
    """Where a verifier gets the public keys tokens may be signed with."""

    async def key_set(self, *, refresh: bool = False) -> KeySet: ...


class StaticKeySource:
    """A fixed set of public keys (a test's own signing key, or a service that holds them)."""

    def __init__(self, keys: KeySet) -> None:
        self._keys = keys

    async def key_set(self, *, refresh: bool = False) -> KeySet:
        return self._keys


class JwksKeySource:
    """The identity service's JWKS, fetched over HTTP and cached.

    A token signed with a ``kid`` the cache lacks asks for one refresh (identity publishes a new
    key before signing with it, so this is the exception: an emergency rotation without notice);
    refreshes are rate-limited so tokens with made-up ``kid``\\s cannot turn every request into
    a call to identity: a new key is known at most ``min_refresh_interval_seconds`` late.
    """

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float = 300.0,
        min_refresh_interval_seconds: float = 2.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._url = url
        self._ttl = ttl_seconds
        self._min_refresh_interval = min_refresh_interval_seconds
        self._timeout = timeout_seconds
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key_set(self, *, refresh: bool = False) -> KeySet:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = self._keys is None or age > self._ttl
            if stale or (refresh and age > self._min_refresh_interval):
                self._keys = await self._fetch()
                self._fetched_at = time.monotonic()
            assert self._keys is not None
            return self._keys

    async def _fetch(self) -> KeySet:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self._url)
                response.raise_for_status()
                return KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as error:
            if self._keys is not None:
                return self._keys  # identity is away: keep verifying with what we know
            raise InvalidToken("The signing keys cannot be fetched right now.") from error


class TokenVerifier:
    """Checks an access token completely, or raises :class:`InvalidToken`."""

    def __init__(
        self, keys: KeySource, *, issuer: str, audience: str, leeway_seconds: int = 30
    ) -> None:
        self._keys = keys
        self._claims = jwt.JWTClaimsRegistry(
            leeway=leeway_seconds,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
            iat={"essential": True},
        )

    async def verify(self, token: str) -> Caller:
        try:
            kid = jws.extract_compact(token.encode()).headers().get("kid")
        except (JoseError, ValueError) as error:
            raise InvalidToken("The access token is not a JWT.") from error
        keys = await self._keys.key_set()
        if not _has_key(keys, kid):
            keys = await self._keys.key_set(refresh=True)
        if not _has_key(keys, kid):
            raise InvalidToken("The access token is signed with an unknown key.")
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            if decoded.header.get("typ") != TOKEN_TYPE:
                raise InvalidToken("The token is not an access token.")
            self._claims.validate(decoded.claims)
            return _caller(decoded.claims)
        except (JoseError, ValueError, KeyError) as error:
            raise InvalidToken("The access token is not valid here.") from error


def _has_key(keys: KeySet, kid: object) -> bool:
    return isinstance(kid, str) and any(key.kid == kid for key in keys)


def _caller(claims: dict[str, Any]) -> Caller:
    # A well-signed token of the wrong shape is refused, not coerced: str(["a"]) is a scope too.
    scope = claims.get("scope", "")
    if not isinstance(scope, str) or not all(
        isinstance(claims.get(name), str) for name in ("client_id", "org_id", "org_kind")
    ):
        raise ValueError("A claim of the access token has the wrong type.")
    kind = OrganizationKind(claims["org_kind"])
    scopes = frozenset(scope.split())
    if kind is not OrganizationKind.OPERATOR:
        scopes -= OPERATOR_ONLY_SCOPES  # a second fence behind identity's own rule
    return Caller(
        client_id=str(claims["client_id"]),
        organization_id=uuid.UUID(str(claims["org_id"])),
        organization_kind=kind,
        scopes=scopes,
    )


_bearer = HTTPBearer(auto_error=False, description="An access token from identity's /oauth/token")


async def authenticated(
    request: Request,
    security_scopes: SecurityScopes,
    session: SessionDep,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
) -> Caller:
    """The verified caller; records the request in the audit log if it changes anything."""
    if credentials is None:
        raise InvalidToken("Send an access token: Authorization: Bearer <token>.")
    verifier: TokenVerifier = request.app.state.token_verifier
    caller = await verifier.verify(credentials.credentials)
    missing = [scope for scope in security_scopes.scopes if scope not in caller.scopes]
    if missing:
        raise InsufficientScope(missing)
    # Idempotency keys and other per-caller state are scoped by this value.
    request.state.principal_scope = str(caller.organization_id)
    # Every later log line of the request says whose it was (an id, never a name or an INN).
    context.bind_log_fields(organization_id=str(caller.organization_id))
    # In the request's transaction: it commits with the route's changes, or rolls back with
    # them when the route fails, so only changes that happened are in the log.
    audit.record(request, session, caller)
    return caller


def requires(*scopes: str) -> Any:
    """A route's caller, who must hold every one of ``scopes``:
    ``caller: Annotated[Caller, requires("catalog:write")]``."""
    return Security(authenticated, scopes=list(scopes))
