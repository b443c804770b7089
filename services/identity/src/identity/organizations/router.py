from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from identity.organizations import service
from identity.organizations.domain import OrganizationStatus
from identity.organizations.schemas import (
    OrganizationCreate,
    OrganizationPage,
    OrganizationRead,
    OrganizationRegistration,
    OrganizationUpdate,
    Rejection,
)
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/organizations", tags=["organizations"], responses=PROBLEM_RESPONSES)


def _location(organization: OrganizationRead) -> str:
    return f"/organizations/{organization.id}"


@router.post("", status_code=201, response_model=OrganizationRead)
async def register_organization(
    body: OrganizationCreate,
    caller: Annotated[Caller, requires("identity:admin")],
    session: SessionDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """The operator registers an organization of any kind; it is active at once."""
    return await idempotency.respond(
        lambda: service.register_by_operator(session, caller, body),
        response_model=OrganizationRead,
        location=_location,
    )


@router.post("/register", status_code=201, response_model=OrganizationRead)
async def register_self(
    body: OrganizationRegistration, session: SessionDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """A partner or business applies to join (no token needed); it stays pending until the
    operator approves it, and only then can its API clients get tokens."""
    return await idempotency.respond(
        lambda: service.register_self(session, body),
        response_model=OrganizationRead,
        location=_location,
    )


@router.get("", response_model=OrganizationPage)
async def list_organizations(
    caller: Annotated[Caller, requires("identity:read")],
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    status: OrganizationStatus | None = None,
) -> OrganizationPage:
    """Every organization for the operator, page by page; the caller's own for anyone else."""
    items, next_cursor = await service.list_organizations(
        session, caller, cursor=cursor, limit=limit, status=status
    )
    return OrganizationPage(
        items=[OrganizationRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.get("/{organization_id}", response_model=OrganizationRead)
async def get_organization(
    organization_id: uuid.UUID,
    caller: Annotated[Caller, requires("identity:read")],
    session: SessionDep,
) -> OrganizationRead:
    """The caller's own organization (the operator: any)."""
    return OrganizationRead.model_validate(
        await service.get_organization(session, caller, organization_id)
    )


@router.patch("/{organization_id}", response_model=OrganizationRead)
async def update_organization(
    organization_id: uuid.UUID,
    body: OrganizationUpdate,
    caller: Annotated[Caller, requires("identity:write")],
    session: SessionDep,
) -> OrganizationRead:
    """Change the organization's profile: names, KPP, address, bank details, EDO id, contacts."""
    return OrganizationRead.model_validate(
        await service.update_organization(session, caller, organization_id, body)
    )


@router.post("/{organization_id}/approve", response_model=OrganizationRead)
async def approve_organization(
    organization_id: uuid.UUID,
    caller: Annotated[Caller, requires("identity:admin")],
    session: SessionDep,
) -> OrganizationRead:
    """The operator approves a pending registration: the organization becomes active."""
    return OrganizationRead.model_validate(await service.approve(session, caller, organization_id))


@router.post("/{organization_id}/reject", response_model=OrganizationRead)
async def reject_organization(
    organization_id: uuid.UUID,
    body: Rejection,
    caller: Annotated[Caller, requires("identity:admin")],
    session: SessionDep,
) -> OrganizationRead:
    """The operator rejects a pending registration, saying why."""
    return OrganizationRead.model_validate(
        await service.reject(session, caller, organization_id, body.reason)
    )
