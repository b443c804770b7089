"""HTTP to a connector's external system, authenticated as the connector is configured.

OAuth connectors send the cached access token, renew it a little before it expires, and answer
a 401 with exactly one renewal and one retry (a token revoked early, or a clock that disagrees);
a second 401 is the server's final word and is returned to the caller as is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.connectors import oauth
from integrations.connectors.domain import OAUTH_METHODS
from integrations.connectors.models import Connector
from vitrina_kit.db import transaction
from vitrina_kit.vault import Vault


class ConnectorClient:
    """One connector's authenticated HTTP client; use as ``async with``."""

    def __init__(
        self,
        connector: Connector,
        *,
        sessions: async_sessionmaker[AsyncSession],
        vault: Vault,
        refresh_leeway: timedelta,
        timeout: float,
    ) -> None:
        self.connector = connector
        self._sessions = sessions
        self._vault = vault
        self._leeway = refresh_leeway
        self._timeout = timeout
        auth: httpx.Auth | None = None
        if connector.auth_method == "basic":
            secrets = (
                vault.decrypt(connector.secrets_encrypted) if connector.secrets_encrypted else {}
            )
            auth = httpx.BasicAuth(connector.login or "", secrets.get("password", ""))
        self._http = httpx.AsyncClient(
            base_url=connector.endpoint_url.rstrip("/") + "/", auth=auth, timeout=timeout
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send ``method path`` (relative to the connector's endpoint URL), authenticated."""
        if self.connector.auth_method not in OAUTH_METHODS:
            return await self._http.request(method, path.lstrip("/"), **kwargs)
        token = await self._usable_token()
        response = await self._send(method, path, token, **kwargs)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            token = await self._renewed(stale=token.access_token)
            response = await self._send(method, path, token, **kwargs)
        return response

    async def _send(
        self, method: str, path: str, token: oauth.Token, **kwargs: Any
    ) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token.access_token}"}
        return await self._http.request(method, path.lstrip("/"), headers=headers, **kwargs)

    async def _usable_token(self) -> oauth.Token:
        async with transaction(self._sessions) as session:
            token = await oauth.stored_token(session, self._vault, self.connector.connector_id)
        if token is not None and token.is_fresh(datetime.now(UTC), self._leeway):
            return token
        return await self._renewed(stale=token.access_token if token else None)

    async def _renewed(self, *, stale: str | None) -> oauth.Token:
        async with transaction(self._sessions) as session:
            return await oauth.renew_token(
                session,
                self._vault,
                self.connector,
                stale=stale,
                now=datetime.now(UTC),
                leeway=self._leeway,
                timeout=self._timeout,
            )
