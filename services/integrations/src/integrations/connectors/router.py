from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from integrations.connectors import oauth, service
from integrations.connectors.schemas import (
    AuthorizationCodeGrant,
    ConnectorCreate,
    ConnectorPage,
    ConnectorRead,
    ConnectorUpdate,
)
from integrations.settings import IntegrationsSettings
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.problems import PROBLEM_RESPONSES, UnprocessableEntity
from vitrina_kit.vault import Vault, vault_for

router = APIRouter(prefix="/connectors", tags=["connectors"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Caller, requires("integrations:read")]
Writer = Annotated[Caller, requires("integrations:write")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=200)]


def _settings(request: Request) -> IntegrationsSettings:
    settings: IntegrationsSettings = request.app.state.settings
    return settings


def _vault(request: Request) -> Vault:
    return vault_for(_settings(request).connector_encryption_keys.get_secret_value())


SettingsDep = Annotated[IntegrationsSettings, Depends(_settings)]
VaultDep = Annotated[Vault, Depends(_vault)]


class AuthorizationRefused(UnprocessableEntity):
    code = "authorization_refused"
    title = "The external system refused the authorization"


@router.post("", status_code=201, response_model=ConnectorRead)
async def create_connector(
    body: ConnectorCreate,
    caller: Writer,
    session: SessionDep,
    vault: VaultDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """A connector for the caller's organization (the operator: for any). Secrets are stored
    encrypted and never returned; reads show ``has_secret``."""
    return await idempotency.respond(
        lambda: _created(session, caller, body, vault),
        response_model=ConnectorRead,
        location=lambda connector: f"/connectors/{connector.connector_id}",
    )


async def _created(
    session: SessionDep, caller: Caller, body: ConnectorCreate, vault: Vault
) -> ConnectorRead:
    return ConnectorRead.of(await service.create_connector(session, caller, body, vault))


@router.get("", response_model=ConnectorPage)
async def list_connectors(
    caller: Reader, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
) -> ConnectorPage:
    """The caller's connectors, oldest first (the operator sees every organization's)."""
    items, next_cursor = await service.list_connectors(session, caller, cursor=cursor, limit=limit)
    return ConnectorPage(items=[ConnectorRead.of(item) for item in items], next_cursor=next_cursor)


@router.get("/{connector_id}", response_model=ConnectorRead)
async def get_connector(
    connector_id: uuid.UUID, caller: Reader, session: SessionDep
) -> ConnectorRead:
    return ConnectorRead.of(await service.get_connector(session, caller, connector_id))


@router.patch("/{connector_id}", response_model=ConnectorRead)
async def update_connector(
    connector_id: uuid.UUID,
    body: ConnectorUpdate,
    caller: Writer,
    session: SessionDep,
    vault: VaultDep,
) -> ConnectorRead:
    """Change a connector; new secrets or credentials drop its cached OAuth tokens."""
    return ConnectorRead.of(
        await service.update_connector(session, caller, connector_id, body, vault)
    )


@router.delete("/{connector_id}", status_code=204)
async def delete_connector(
    connector_id: uuid.UUID, caller: Writer, session: SessionDep
) -> Response:
    await service.delete_connector(session, caller, connector_id)
    return Response(status_code=204)


@router.post("/{connector_id}/oauth/authorization-code", response_model=ConnectorRead)
async def authorize_connector(
    connector_id: uuid.UUID,
    body: AuthorizationCodeGrant,
    caller: Writer,
    session: SessionDep,
    vault: VaultDep,
    settings: SettingsDep,
) -> ConnectorRead:
    """Finish the authorization code grant: the code the external system's authorization page
    redirected with is exchanged for tokens; the refresh token is kept, encrypted."""
    connector = await service.get_connector(session, caller, connector_id)
    if connector.auth_method != "oauth2_authorization_code":
        raise UnprocessableEntity(f"Connector {connector_id} does not use the authorization code.")
    try:
        await oauth.exchange_authorization_code(
            session,
            vault,
            connector,
            code=body.code,
            redirect_uri=body.redirect_uri,
            now=datetime.now(UTC),
            timeout=settings.connector_timeout_seconds,
        )
    except (oauth.ConnectorAuthError, oauth.TokenEndpointUnavailable) as error:
        raise AuthorizationRefused(str(error)) from error
    return ConnectorRead.of(connector)
