"""Issuing and introspecting access tokens."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clients import repository as clients_repository
from identity.clients import service as clients
from identity.clients.domain import ALLOWED_SCOPES, ClientStatus
from identity.keys import service as keys
from identity.oauth import domain, repository
from identity.oauth.domain import ErrorCode, OAuthError
from identity.organizations.domain import OrganizationStatus
from identity.settings import IdentitySettings
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.db import transaction

INACTIVE: dict[str, Any] = {"active": False}


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


async def check_rate_limits(
    sessions: async_sessionmaker[AsyncSession],
    settings: IdentitySettings,
    *,
    client_id: str,
    address: str,
    now: datetime,
) -> None:
    """Count the request against its client id and its source address, in a transaction of
    its own: a refused request (a wrong secret above all) must count too.

    Failed authentications have a stricter limit of their own (see
    :func:`count_failed_authentication`): once a client id or an address has used it up, even
    the right secret gets no token until the window ends, or guessing would go on unhindered.
    The price: anyone can lock a client id out for the rest of a window by failing with it.
    """
    window = timedelta(seconds=settings.token_rate_limit_window_seconds)
    start = domain.window_start(now, window)
    async with transaction(sessions) as session:
        by_address = await repository.hit(session, f"address:{address}", start)
        by_client = await repository.hit(session, f"client:{client_id}", start)
        failed_by_address = await repository.hits(session, f"failed-address:{address}", start)
        failed_by_client = await repository.hits(session, f"failed-client:{client_id}", start)
        # Now and then, not every time: one replica's cleanup is enough for all.
        if random.random() < 0.01:
            await repository.forget_before(session, start - window)
    if (
        by_address > settings.token_rate_limit_per_address
        or by_client > settings.token_rate_limit_per_client
        or failed_by_address >= settings.token_failure_limit_per_address
        or failed_by_client >= settings.token_failure_limit_per_client
    ):
        raise domain.rate_limited(domain.retry_after(now, window))


async def count_failed_authentication(
    sessions: async_sessionmaker[AsyncSession],
    settings: IdentitySettings,
    *,
    client_id: str,
    address: str,
    now: datetime,
) -> None:
    """Count a wrong secret (or an unknown or revoked client) against the stricter limits."""
    window = timedelta(seconds=settings.token_rate_limit_window_seconds)
    start = domain.window_start(now, window)
    async with transaction(sessions) as session:
        await repository.hit(session, f"failed-address:{address}", start)
        await repository.hit(session, f"failed-client:{client_id}", start)


async def issue_token(
    session: AsyncSession,
    settings: IdentitySettings,
    request: domain.TokenRequest,
    now: datetime,
) -> IssuedToken:
    """An access token for an authenticated client of an active organization."""
    credentials = request.credentials
    client = await clients.authenticate(
        session, settings, credentials.client_id, credentials.client_secret, now
    )
    if client is None:
        raise domain.invalid_client()
    organization = client.organization
    if organization.status != OrganizationStatus.ACTIVE:
        raise OAuthError(
            ErrorCode.UNAUTHORIZED_CLIENT,
            "The client's organization is not active: it is waiting for the operator's "
            "approval or was rejected.",
        )
    kind = OrganizationKind(organization.kind)
    # What the kind allows bounds what is granted even if a stored client held more.
    held = set(client.scopes) & ALLOWED_SCOPES[kind]
    scopes = domain.granted_scopes(held, request.scopes)
    lifetime = timedelta(seconds=settings.token_lifetime_seconds)
    claims = domain.access_token_claims(
        domain.TokenSubject(
            client_id=client.client_id,
            organization_id=organization.id,
            organization_kind=kind,
            scopes=scopes,
        ),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        now=now,
        lifetime=lifetime,
    )
    key = await keys.signing_key(session, settings, now)
    token = jwt.encode(
        domain.access_token_header(key.kid), claims, key.private_key, algorithms=[keys.ALGORITHM]
    )
    return IssuedToken(
        access_token=token, expires_in=settings.token_lifetime_seconds, scope=" ".join(scopes)
    )


async def introspect(
    session: AsyncSession, settings: IdentitySettings, token: str, now: datetime
) -> dict[str, Any]:
    """RFC 7662: the token's claims if it is active now, else only ``active: false`` (an
    expired, unknown-key, forged or foreign token, or one whose client or organization may no
    longer get tokens). Never why: the answer must not help forge one."""
    key_set = KeySet.import_key_set({"keys": await keys.published_keys(session, now)})
    try:
        decoded = jwt.decode(token, key_set, algorithms=[keys.ALGORITHM])
        if decoded.header.get("typ") != domain.TOKEN_TYPE:
            return INACTIVE
        jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            iss={"essential": True, "value": settings.auth_issuer},
            aud={"essential": True, "value": settings.auth_audience},
            exp={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError, TypeError, KeyError):
        return INACTIVE
    claims = decoded.claims
    client = await clients_repository.get(session, str(claims["client_id"]))
    if (
        client is None
        or client.status != ClientStatus.ACTIVE
        or client.organization.status != OrganizationStatus.ACTIVE
        or str(client.organization_id) != claims.get("org_id")
    ):
        return INACTIVE
    reported = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti")
    return {
        "active": True,
        **{name: claims[name] for name in reported if name in claims},
        "org_id": claims.get("org_id"),
        "org_kind": claims.get("org_kind"),
        "token_type": "Bearer",
    }
