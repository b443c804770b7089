"""Connector upkeep the worker process does on its own schedule."""

from __future__ import annotations

from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.connectors.service import reencrypt_stored_secrets
from integrations.settings import IntegrationsSettings
from vitrina_kit.service import PeriodicJob
from vitrina_kit.settings import ServiceSettings
from vitrina_kit.vault import vault_for


def _own(settings: ServiceSettings) -> IntegrationsSettings:
    return cast(IntegrationsSettings, settings)


async def _reencrypt(sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings) -> int:
    keys = _own(settings).connector_encryption_keys.get_secret_value()
    return await reencrypt_stored_secrets(sessions, vault_for(keys))


# After a new key is prepended to INTEGRATIONS_CONNECTOR_ENCRYPTION_KEYS, this moves every stored
# secret and token to it; then the old key can be removed from the setting.
SECRETS_REENCRYPTION = PeriodicJob(
    name="connector-secrets-reencrypt",
    run=_reencrypt,
    interval_seconds=lambda settings: _own(settings).connector_reencrypt_interval_seconds,
)
