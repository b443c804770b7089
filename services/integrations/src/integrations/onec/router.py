"""The operator's window on 1C: each document's sync state, a nudge, and a pull of payments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.onec import repository, service
from integrations.onec.odata import OneCCredentialsRefused, OneCRefused, OneCUnavailable
from integrations.onec.schemas import OneCSyncPage, OneCSyncRead, PaymentsPullRead, SyncStatus
from integrations.settings import IntegrationsSettings
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.ops import OperatorOnly
from vitrina_kit.pagination import decode_cursor, encode_cursor
from vitrina_kit.problems import PROBLEM_RESPONSES, DomainError, NotFound

router = APIRouter(prefix="/onec", tags=["1C"], responses=PROBLEM_RESPONSES)


def _operator(caller: Caller) -> Caller:
    if not caller.is_operator:
        raise OperatorOnly("1C is the marketplace operator's accounting base.")
    return caller


def _reader(caller: Annotated[Caller, requires("integrations:read")]) -> Caller:
    return _operator(caller)


def _writer(caller: Annotated[Caller, requires("integrations:write")]) -> Caller:
    return _operator(caller)


def _settings(request: Request) -> IntegrationsSettings:
    settings = request.app.state.settings
    assert isinstance(settings, IntegrationsSettings)
    return settings


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


Reader = Annotated[Caller, Depends(_reader)]
Writer = Annotated[Caller, Depends(_writer)]
SettingsDep = Annotated[IntegrationsSettings, Depends(_settings)]
SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]


class OneCDocumentNotFound(NotFound):
    code = "onec_document_not_found"

    def __init__(self, document_id: uuid.UUID) -> None:
        super().__init__(f"No billing document {document_id} is known to the 1C sync.")


class OneCPullFailed(DomainError):
    status = HTTPStatus.BAD_GATEWAY
    code = "onec_pull_failed"
    title = "1C did not give the payments"


@router.get("/sync", response_model=OneCSyncPage)
async def list_sync(
    _: Reader,
    session: SessionDep,
    status: SyncStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OneCSyncPage:
    """Operator: billing documents and their state in 1C (the last error of those that wait)."""
    items = await repository.page(session, status=status, after=decode_cursor(cursor), limit=limit)
    last = items[-1] if len(items) == limit else None
    return OneCSyncPage(
        items=[OneCSyncRead.model_validate(item) for item in items],
        next_cursor=encode_cursor((last.created_at, last.document_id)) if last else None,
    )


@router.get("/sync/{document_id}", response_model=OneCSyncRead)
async def get_sync(document_id: uuid.UUID, _: Reader, session: SessionDep) -> OneCSyncRead:
    row = await repository.get(session, document_id)
    if row is None:
        raise OneCDocumentNotFound(document_id)
    return OneCSyncRead.model_validate(row)


@router.post("/sync/{document_id}/retry", response_model=OneCSyncRead)
async def retry_sync(document_id: uuid.UUID, _: Writer, session: SessionDep) -> OneCSyncRead:
    """Operator: write the document to 1C at the next round (after fixing the connector or
    1C's data), whatever its state; it is updated in place, never duplicated."""
    row = await repository.get(session, document_id, lock=True)
    if row is None:
        raise OneCDocumentNotFound(document_id)
    await service.retry_now(session, row, now=datetime.now(UTC))
    return OneCSyncRead.model_validate(row)


@router.post("/payments/pull", response_model=PaymentsPullRead)
async def pull_payments(
    caller: Writer, sessions: SessionsDep, settings: SettingsDep
) -> PaymentsPullRead:
    """Operator: read the incoming payments from the operator's 1C base now. Each is published
    once (`bank_payment.imported`), also when a statement brought it already; safe to repeat."""
    try:
        pulled = await service.pull_all(sessions, settings, organization_id=caller.organization_id)
    except (OneCUnavailable, OneCCredentialsRefused, OneCRefused) as error:
        raise OneCPullFailed(str(error)) from error
    return PaymentsPullRead.model_validate(pulled)
