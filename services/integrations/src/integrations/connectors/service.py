"""Managing connectors: who may see and change which, and secrets that go in but never out."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.connectors import repository
from integrations.connectors.domain import configuration_problems
from integrations.connectors.models import Connector, ConnectorToken
from integrations.connectors.schemas import ConnectorCreate, ConnectorUpdate
from integrations.webhooks.models import WebhookEndpoint
from vitrina_kit.auth import Caller
from vitrina_kit.db import transaction
from vitrina_kit.pagination import decode_cursor, encode_cursor
from vitrina_kit.problems import Conflict, NotFound, UnprocessableEntity
from vitrina_kit.vault import Vault

logger = logging.getLogger(__name__)


class ConnectorNotFound(NotFound):
    code = "connector_not_found"

    def __init__(self, connector_id: uuid.UUID) -> None:
        super().__init__(f"No connector {connector_id}.")


class OrganizationNotFound(NotFound):
    code = "organization_not_found"

    def __init__(self, organization_id: uuid.UUID) -> None:
        super().__init__(f"No organization {organization_id} you may configure.")


class ConnectorMisconfigured(UnprocessableEntity):
    code = "connector_misconfigured"
    title = "The connector would not work as configured"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems) + ".", problems=list(problems))


class ConnectorNameTaken(Conflict):
    code = "connector_name_taken"

    def __init__(self, name: str) -> None:
        super().__init__(f"The organization already has a connector named {name!r}.")


def _plain(secrets: Mapping[str, SecretStr]) -> dict[str, str]:
    return {name: value.get_secret_value() for name, value in secrets.items()}


async def create_connector(
    session: AsyncSession, caller: Caller, body: ConnectorCreate, vault: Vault
) -> Connector:
    owner = body.organization_id or caller.organization_id
    if owner != caller.organization_id and not caller.is_operator:
        # Someone else's organization does not exist for this caller.
        raise OrganizationNotFound(owner)
    _raise_if_any(
        configuration_problems(
            kind=body.kind,
            auth_method=body.auth_method,
            login=body.login,
            token_url=body.token_url,
            authorize_url=body.authorize_url,
            options=body.options,
            secret_names=body.secrets,
        )
    )
    connector = Connector(
        connector_id=uuid.uuid4(),
        organization_id=owner,
        kind=body.kind,
        name=body.name,
        endpoint_url=body.endpoint_url,
        auth_method=body.auth_method,
        token_url=body.token_url,
        authorize_url=body.authorize_url,
        login=body.login,
        scope=body.scope,
        options=dict(body.options),
        secrets_encrypted=vault.encrypt(_plain(body.secrets)) if body.secrets else None,
        enabled=body.enabled,
    )
    session.add(connector)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:
        raise ConnectorNameTaken(body.name) from error
    return connector


async def list_connectors(
    session: AsyncSession, caller: Caller, *, cursor: str | None, limit: int
) -> tuple[Sequence[Connector], str | None]:
    items = await repository.page(session, caller, after=decode_cursor(cursor), limit=limit)
    last = items[-1] if len(items) == limit else None
    return items, encode_cursor((last.created_at, last.connector_id)) if last else None


async def get_connector(
    session: AsyncSession, caller: Caller, connector_id: uuid.UUID
) -> Connector:
    connector = await repository.visible(session, caller, connector_id)
    if connector is None:
        raise ConnectorNotFound(connector_id)
    return connector


async def update_connector(
    session: AsyncSession,
    caller: Caller,
    connector_id: uuid.UUID,
    body: ConnectorUpdate,
    vault: Vault,
) -> Connector:
    connector = await get_connector(session, caller, connector_id)
    changes = body.model_dump(exclude_unset=True, exclude={"secrets"})
    for name, value in changes.items():
        setattr(connector, name, value)
    secrets: dict[str, str] | None = None
    if body.secrets is not None:
        secrets = _plain(body.secrets)
        connector.secrets_encrypted = vault.encrypt(secrets) if secrets else None
    current_secrets = (
        secrets
        if secrets is not None
        else vault.decrypt(connector.secrets_encrypted)
        if connector.secrets_encrypted
        else {}
    )
    _raise_if_any(
        configuration_problems(
            kind=connector.kind,
            auth_method=connector.auth_method,
            login=connector.login,
            token_url=connector.token_url,
            authorize_url=connector.authorize_url,
            options=connector.options,
            secret_names=current_secrets,
        )
    )
    if body.secrets is not None or {"login", "token_url", "scope"} & changes.keys():
        # Tokens belong to the old credentials; the next call obtains new ones.
        await repository.forget_token(session, connector.connector_id)
    connector.version += 1
    await session.flush()
    await session.refresh(connector)  # updated_at is set by the database
    return connector


async def delete_connector(session: AsyncSession, caller: Caller, connector_id: uuid.UUID) -> None:
    connector = await get_connector(session, caller, connector_id)
    await session.delete(connector)
    await session.flush()


def _raise_if_any(problems: Sequence[str]) -> None:
    if problems:
        raise ConnectorMisconfigured(problems)


async def reencrypt_stored_secrets(sessions: async_sessionmaker[AsyncSession], vault: Vault) -> int:
    """Move every connector secret, OAuth token and webhook signing secret still under an
    older key to the newest; how many moved.

    Run after prepending a new key to the setting; once it reports nothing left, the old key
    can be dropped from the setting.
    """
    moved = 0
    async with transaction(sessions) as session:
        # FOR UPDATE: a connector edited meanwhile must not get its new secret overwritten
        # with the re-encrypted old one.
        connectors = await session.scalars(
            select(Connector).where(Connector.secrets_encrypted.is_not(None)).with_for_update()
        )
        for connector in connectors:
            assert connector.secrets_encrypted is not None  # filtered above
            if not vault.is_current(connector.secrets_encrypted):
                connector.secrets_encrypted = vault.reencrypt(connector.secrets_encrypted)
                moved += 1
        tokens = await session.scalars(select(ConnectorToken).with_for_update())
        for token in tokens:
            if not vault.is_current(token.token_encrypted):
                token.token_encrypted = vault.reencrypt(token.token_encrypted)
                moved += 1
        # Webhook signing secrets are under the same keys: left behind, dropping the old key
        # would leave their endpoints unable to sign a single delivery.
        endpoints = await session.scalars(select(WebhookEndpoint).with_for_update())
        for endpoint in endpoints:
            if not vault.is_current(endpoint.signing_secret_encrypted):
                endpoint.signing_secret_encrypted = vault.reencrypt(
                    endpoint.signing_secret_encrypted
                )
                moved += 1
            previous = endpoint.previous_signing_secret_encrypted
            if previous is not None and not vault.is_current(previous):
                endpoint.previous_signing_secret_encrypted = vault.reencrypt(previous)
                moved += 1
    if moved:
        logger.info("connector secrets re-encrypted with the newest key", extra={"moved": moved})
    return moved
