"""Identity verifies the tokens it is shown with the keys in its own database, not by fetching
its own JWKS over HTTP (it would be calling itself, and at start-up, before it listens)."""

from __future__ import annotations

import asyncio
import time

from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clock import Clock, utc_now
from identity.keys import service
from vitrina_kit.settings import ServiceSettings


class DatabaseKeySource:
    """The public keys currently in the JWKS, read from the database and cached briefly.

    A token with a ``kid`` the cache lacks makes the verifier ask again with ``refresh=True``;
    that re-reads at once (one indexed query on a table of a few rows), so a key that was just
    activated verifies immediately.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock = utc_now,
        ttl_seconds: float = 5.0,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._ttl = ttl_seconds
        self._keys: KeySet | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key_set(self, *, refresh: bool = False) -> KeySet:
        async with self._lock:
            if refresh or self._keys is None or time.monotonic() - self._loaded_at > self._ttl:
                async with self._sessions() as session:
                    jwks = await service.published_keys(session, self._clock())
                self._keys = KeySet.import_key_set({"keys": jwks})
                self._loaded_at = time.monotonic()
            return self._keys


def local_key_source(
    settings: ServiceSettings, sessions: async_sessionmaker[AsyncSession]
) -> DatabaseKeySource:
    """The key source identity's own routes verify tokens with (the kit's ``key_source``)."""
    return DatabaseKeySource(sessions)
