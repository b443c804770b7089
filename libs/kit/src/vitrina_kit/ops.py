"""Operator views every service exposes: for now, the outbox backlog."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from vitrina_kit.api import SessionDep
from vitrina_kit.outbox import backlog

ops_router = APIRouter(prefix="/ops", tags=["operations"])


class OutboxBacklogRead(BaseModel):
    pending: int
    parked: int
    oldest_pending_age_seconds: float | None


@ops_router.get("/outbox", response_model=OutboxBacklogRead)
async def outbox_backlog(session: SessionDep) -> OutboxBacklogRead:
    """Rows the relay has still to publish, rows it gave up on, and the oldest one's age."""
    result = await backlog(session)
    return OutboxBacklogRead(
        pending=result.pending,
        parked=result.parked,
        oldest_pending_age_seconds=result.oldest_pending_age_seconds,
    )
