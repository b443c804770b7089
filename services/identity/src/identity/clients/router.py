from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from identity.clients import service
from identity.clients.models import ApiClient
from identity.clients.schemas import ClientCreate, ClientList, ClientRead, ClientWithSecret
from identity.clock import NowDep
from identity.dependencies import NO_STORE, SettingsDep
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(
    prefix="/organizations/{organization_id}/clients",
    tags=["api clients"],
    responses=PROBLEM_RESPONSES,
)

ClientId = Annotated[str, Path(min_length=1, max_length=100)]


def _with_secret(created: service.ClientWithSecret) -> ClientWithSecret:
    return ClientWithSecret(
        **ClientRead.model_validate(created.client).model_dump(),
        client_secret=created.client_secret,
    )


@router.post("", status_code=201, response_model=ClientWithSecret)
async def create_client(
    organization_id: uuid.UUID,
    body: ClientCreate,
    caller: Annotated[Caller, requires("identity:write")],
    session: SessionDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """A new API client of the organization (the operator: of any organization). The secret is
    in this response only.

    A repeat with the same Idempotency-Key answers with the client but without its secret:
    what is kept for replays must not hold a secret in clear. Rotate the secret if the first
    answer was lost."""
    created: list[service.ClientWithSecret] = []

    async def create() -> ApiClient:
        created.append(
            await service.create_client(session, settings, caller, organization_id, body)
        )
        return created[0].client

    response = await idempotency.respond(
        create,
        response_model=ClientRead,
        location=lambda client: (
            f"/organizations/{client.organization_id}/clients/{client.client_id}"
        ),
    )
    if not created:  # replayed
        return response
    answer = {**json.loads(bytes(response.body)), "client_secret": created[0].client_secret}
    location = response.headers["location"]
    return JSONResponse(answer, status_code=201, headers={"Location": location, **NO_STORE})


@router.get("", response_model=ClientList)
async def list_clients(
    organization_id: uuid.UUID,
    caller: Annotated[Caller, requires("identity:read")],
    session: SessionDep,
) -> ClientList:
    """The organization's API clients (never their secrets)."""
    clients = await service.list_clients(session, caller, organization_id)
    return ClientList(items=[ClientRead.model_validate(client) for client in clients])


@router.get("/{client_id}", response_model=ClientRead)
async def get_client(
    organization_id: uuid.UUID,
    client_id: ClientId,
    caller: Annotated[Caller, requires("identity:read")],
    session: SessionDep,
) -> ClientRead:
    return ClientRead.model_validate(
        await service.get_client(session, caller, organization_id, client_id)
    )


@router.post("/{client_id}/rotate-secret", response_model=ClientWithSecret)
async def rotate_secret(
    organization_id: uuid.UUID,
    client_id: ClientId,
    caller: Annotated[Caller, requires("identity:write")],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> JSONResponse:
    """A new secret, shown once; the previous one keeps working for the overlap window
    (IDENTITY_CLIENT_SECRET_OVERLAP_HOURS), so the client can switch without downtime."""
    rotated = await service.rotate_secret(
        session, settings, caller, organization_id, client_id, now
    )
    return JSONResponse(_with_secret(rotated).model_dump(mode="json"), headers=NO_STORE)


@router.post("/{client_id}/revoke", response_model=ClientRead)
async def revoke_client(
    organization_id: uuid.UUID,
    client_id: ClientId,
    caller: Annotated[Caller, requires("identity:write")],
    session: SessionDep,
    now: NowDep,
) -> ClientRead:
    """The client gets no more tokens. Tokens already issued stay valid until they expire (at
    most the token lifetime, 10 minutes by default): APIs verify them offline. Introspection
    reports them inactive at once."""
    return ClientRead.model_validate(
        await service.revoke(session, caller, organization_id, client_id, now)
    )
