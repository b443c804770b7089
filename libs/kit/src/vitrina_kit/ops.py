"""Operator views every service exposes: the outbox backlog and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from vitrina_kit.api import SessionDep
from vitrina_kit.audit import AuditEntry
from vitrina_kit.auth import Caller, requires
from vitrina_kit.outbox import backlog

ops_router = APIRouter(prefix="/ops", tags=["operations"])

OperatorDep = Annotated[Caller, requires("ops:read")]


class OutboxBacklogRead(BaseModel):
    pending: int
    parked: int
    oldest_pending_age_seconds: float | None


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    client_id: str
    organization_id: uuid.UUID
    organization_kind: str
    action: str
    target: dict[str, Any]
    source_address: str | None
    correlation_id: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryRead]
    next_before_id: int | None


@ops_router.get("/outbox", response_model=OutboxBacklogRead)
async def outbox_backlog(_: OperatorDep, session: SessionDep) -> OutboxBacklogRead:
    """Rows the relay has still to publish, rows it gave up on, and the oldest one's age."""
    result = await backlog(session)
    return OutboxBacklogRead(
        pending=result.pending,
        parked=result.parked,
        oldest_pending_age_seconds=result.oldest_pending_age_seconds,
    )


@ops_router.get("/audit", response_model=AuditPage)
async def audit_log(
    _: OperatorDep,
    session: SessionDep,
    organization_id: uuid.UUID | None = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    """Who changed what, newest first; page with ``before_id=<next_before_id>``."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if organization_id is not None:
        query = query.where(AuditEntry.organization_id == organization_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[AuditEntryRead.model_validate(row) for row in rows],
        next_before_id=rows[-1].id if more else None,
    )
