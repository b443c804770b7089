"""The OAuth 2.0 client side of connectors: tokens obtained, cached in the database, renewed.

authlib (its httpx integration, ``AsyncOAuth2Client``) speaks to the token endpoint: client
authentication, the grant request bodies (client credentials, authorization code, refresh token)
and the RFC 6749 error responses. What this module adds is the keeping: tokens are stored
encrypted in ``connector_tokens`` so every replica and every round shares them, renewed a little
before they expire, and renewed under a row lock so that two replicas never spend one rotating
refresh token twice.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.connectors.models import Connector, ConnectorToken
from vitrina_kit.vault import Vault

with warnings.catch_warnings():
    # authlib (1.9) warns on import that its httpx integration will move to the httpx2 package;
    # there is no other import of it. We stay on httpx, as the whole stack does (the connector
    # clients, and the OpenTelemetry instrumentation that traces the token calls, are httpx's):
    # the warning is only noise printed before logging is set up. Moving means a new dependency.
    warnings.filterwarnings(
        "ignore",
        message="The httpx module is deprecated",
        category=AuthlibDeprecationWarning,
    )
    from authlib.integrations.httpx_client import AsyncOAuth2Client

logger = logging.getLogger(__name__)


class ConnectorAuthError(Exception):
    """The external system refused the connector's credentials: a person must fix them."""


class ReauthorizationNeeded(ConnectorAuthError):
    """No usable refresh token (none yet, expired or revoked): the organization must go
    through the authorization page of the external system again."""


class TokenEndpointUnavailable(Exception):
    """The token endpoint did not answer usefully (timeout, 5xx): worth retrying later."""


@dataclass(frozen=True)
class Token:
    """An access token as a connector holds it (decrypted, in memory only)."""

    access_token: str
    token_type: str
    expires_at: datetime | None
    refresh_token: str | None = None

    def is_fresh(self, now: datetime, leeway: timedelta) -> bool:
        """Usable for a request starting now, with ``leeway`` to spare before it expires."""
        return self.expires_at is None or now + leeway < self.expires_at


async def stored_token(
    session: AsyncSession, vault: Vault, connector_id: uuid.UUID, *, lock: bool = False
) -> Token | None:
    query = select(ConnectorToken).where(ConnectorToken.connector_id == connector_id)
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        return None
    values = vault.decrypt(row.token_encrypted)
    return Token(
        access_token=values["access_token"],
        token_type=values.get("token_type", "Bearer"),
        refresh_token=values.get("refresh_token"),
        expires_at=row.expires_at,
    )


async def store_token(
    session: AsyncSession, vault: Vault, connector_id: uuid.UUID, token: Token, now: datetime
) -> None:
    secrets = {"access_token": token.access_token, "token_type": token.token_type}
    if token.refresh_token:
        secrets["refresh_token"] = token.refresh_token
    values = {
        "connector_id": connector_id,
        "token_encrypted": vault.encrypt(secrets),
        "expires_at": token.expires_at,
        "obtained_at": now,
    }
    statement = insert(ConnectorToken).values(values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ConnectorToken.connector_id],
            set_={name: statement.excluded[name] for name in values if name != "connector_id"},
        )
    )


async def renew_token(
    session: AsyncSession,
    vault: Vault,
    connector: Connector,
    *,
    stale: str | None,
    now: datetime,
    leeway: timedelta,
    timeout: float,
) -> Token:
    """A fresh token for ``connector``, in ``session``'s transaction.

    ``stale`` is the access token the caller found unusable (near expiry, or refused with 401).
    The connector's row is locked first: if another replica renewed meanwhile, its token is
    returned and the token endpoint is not called again.
    """
    await session.execute(
        select(Connector.connector_id)
        .where(Connector.connector_id == connector.connector_id)
        .with_for_update()
    )
    current = await stored_token(session, vault, connector.connector_id)
    if current is not None and current.access_token != stale and current.is_fresh(now, leeway):
        return current
    secrets = vault.decrypt(connector.secrets_encrypted) if connector.secrets_encrypted else {}
    refresh_token = current.refresh_token if current else None
    token = await _obtain(connector, secrets, refresh_token=refresh_token, timeout=timeout)
    await store_token(session, vault, connector.connector_id, token, now)
    logger.info(
        "connector token renewed",
        extra={"connector_id": str(connector.connector_id), "expires_at": str(token.expires_at)},
    )
    return token


async def exchange_authorization_code(
    session: AsyncSession,
    vault: Vault,
    connector: Connector,
    *,
    code: str,
    redirect_uri: str,
    now: datetime,
    timeout: float,
) -> Token:
    """Finish the authorization code grant: the code for tokens, the refresh token kept."""
    secrets = vault.decrypt(connector.secrets_encrypted) if connector.secrets_encrypted else {}
    started = datetime.now(UTC)
    async with _oauth_client(connector, secrets, timeout) as oauth:
        response = await _call_token_endpoint(
            connector,
            oauth.fetch_token(
                connector.token_url,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
            ),
        )
    token = _token_of(response, now=started)
    if token.refresh_token is None:
        logger.warning(
            "the authorization server gave no refresh token; the connector will need "
            "authorizing again when the access token expires",
            extra={"connector_id": str(connector.connector_id)},
        )
    await store_token(session, vault, connector.connector_id, token, now)
    return token


async def _obtain(
    connector: Connector, secrets: dict[str, str], *, refresh_token: str | None, timeout: float
) -> Token:
    # The lifetime counts from before the request: a token is never thought fresher than it is.
    started = datetime.now(UTC)
    async with _oauth_client(connector, secrets, timeout) as oauth:
        if refresh_token is not None:
            try:
                response = await _call_token_endpoint(
                    connector, oauth.refresh_token(connector.token_url, refresh_token=refresh_token)
                )
                return _token_of(response, now=started, keep_refresh=refresh_token)
            except ConnectorAuthError:
                if connector.auth_method != "oauth2_client_credentials":
                    raise ReauthorizationNeeded(
                        f"connector {connector.connector_id}: the refresh token was refused "
                        "(expired or revoked); authorize the connector again"
                    ) from None
                # A client can always ask for a new token with its own credentials.
        if connector.auth_method == "oauth2_client_credentials":
            response = await _call_token_endpoint(
                connector, oauth.fetch_token(connector.token_url, grant_type="client_credentials")
            )
            return _token_of(response, now=started)
    raise ReauthorizationNeeded(
        f"connector {connector.connector_id} has no refresh token; authorize it through "
        "POST /connectors/{id}/oauth/authorization-code"
    )


def _oauth_client(connector: Connector, secrets: dict[str, str], timeout: float) -> Any:
    return AsyncOAuth2Client(
        client_id=connector.login,
        client_secret=secrets.get("client_secret"),
        scope=connector.scope,
        # client_secret_post would work with most servers too; Basic is what RFC 6749
        # requires servers to support.
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
        timeout=timeout,
    )


async def _call_token_endpoint(connector: Connector, call: Any) -> dict[str, Any]:
    try:
        response: dict[str, Any] = await call
    except OAuthError as error:
        # invalid_client, invalid_grant, unauthorized_client...: credentials, not the network.
        raise ConnectorAuthError(
            f"connector {connector.connector_id}: the token endpoint refused: "
            f"{error.error}: {error.description or 'no description'}"
        ) from error
    except httpx.HTTPStatusError as error:
        if error.response.status_code >= 500:
            raise TokenEndpointUnavailable(str(error)) from error
        raise ConnectorAuthError(
            f"connector {connector.connector_id}: the token endpoint answered "
            f"{error.response.status_code}"
        ) from error
    except httpx.TransportError as error:
        raise TokenEndpointUnavailable(f"{type(error).__name__}: {error}") from error
    return response


def _token_of(response: dict[str, Any], *, now: datetime, keep_refresh: str | None = None) -> Token:
    # expires_in, not authlib's whole-second expires_at: the instant the lifetime started from
    # is known here to the microsecond.
    expires_in = response.get("expires_in")
    return Token(
        access_token=str(response["access_token"]),
        token_type=str(response.get("token_type", "Bearer")),
        expires_at=now + timedelta(seconds=float(expires_in)) if expires_in else None,
        # A server that does not rotate refresh tokens omits it: the old one stays valid.
        refresh_token=response.get("refresh_token") or keep_refresh,
    )
