"""Operator views every service exposes: the outbox backlog, the audit log, dead letters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from vitrina_contracts import registry
from vitrina_kit import dead_letters
from vitrina_kit.api import RequestModel, SessionDep
from vitrina_kit.audit import AuditEntry
from vitrina_kit.auth import Caller, requires
from vitrina_kit.outbox import backlog
from vitrina_kit.problems import PROBLEM_RESPONSES, DomainError, NotFound
from vitrina_kit.settings import ServiceSettings

ops_router = APIRouter(prefix="/ops", tags=["operations"], responses=PROBLEM_RESPONSES)

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
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,  # a bigint id
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


class UnknownTopic(NotFound):
    code = "unknown_topic"
    title = "No such topic in the registry"


class OperatorOnly(DomainError):
    status = HTTPStatus.FORBIDDEN
    code = "operator_only"
    title = "Only the marketplace operator may do this"


class DeadLetterRead(BaseModel):
    partition: int
    offset: int
    key: str | None
    event_id: str | None
    event_type: str | None
    error: str
    error_type: str
    attempts: int
    original_topic: str
    original_partition: int
    original_offset: int
    failed_at: datetime | None
    replayed_at: datetime | None

    @classmethod
    def of(cls, letter: dead_letters.DeadLetter, replayed_at: datetime | None) -> DeadLetterRead:
        return cls(
            partition=letter.partition,
            offset=letter.offset,
            key=letter.key,
            event_id=letter.event_id,
            event_type=letter.event_type,
            error=letter.error,
            error_type=letter.error_type,
            attempts=letter.attempts,
            original_topic=letter.original.topic,
            original_partition=letter.original.partition,
            original_offset=letter.original.offset,
            failed_at=letter.failed_at,
            replayed_at=replayed_at,
        )


class DeadLetterList(BaseModel):
    topic: str
    consumer_group: str
    items: list[DeadLetterRead]
    complete: bool
    """False when there are more dead letters than the limit (or reading took too long)."""


class DeadLetterPosition(RequestModel):
    """A dead letter's place in ``<topic>.dlq``, as the listing shows it."""

    partition: int = Field(ge=0, le=10_000)
    offset: int = Field(ge=0)


class ReplayRequest(RequestModel):
    topic: str = Field(min_length=1, max_length=249, description="The original topic.")
    offsets: list[DeadLetterPosition] | None = Field(default=None, min_length=1, max_length=500)
    all: bool = Field(default=False, description="Replay every dead letter not replayed yet.")

    @model_validator(mode="after")
    def _offsets_or_all(self) -> ReplayRequest:
        if (self.offsets is None) == (not self.all):
            raise ValueError("give either offsets or all=true")
        return self


class ReplayResult(BaseModel):
    replayed: list[DeadLetterRead]
    already_replayed: list[DeadLetterPosition]
    not_found: list[DeadLetterPosition]


def _registered(topic: str) -> registry.Topic:
    try:
        return registry.topic(topic)
    except KeyError:
        raise UnknownTopic(f"There is no topic named {topic!r}.") from None


@ops_router.get("/dead-letters", response_model=DeadLetterList)
async def list_dead_letters(
    _: OperatorDep,
    request: Request,
    session: SessionDep,
    topic: Annotated[str, Query(min_length=1, max_length=249, description="The original topic.")],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeadLetterList:
    """This service's dead letters of ``topic`` (read from ``<topic>.dlq``), oldest first."""
    settings: ServiceSettings = request.app.state.settings
    dlq_topic = _registered(topic).dlq
    page = await dead_letters.read_dead_letters(
        settings.kafka_bootstrap_servers, dlq_topic, group_id=settings.service_name, limit=limit
    )
    replayed = await dead_letters.replayed_at(session, dlq_topic, [d.id for d in page.items])
    return DeadLetterList(
        topic=topic,
        consumer_group=settings.service_name,
        items=[DeadLetterRead.of(d, replayed.get(d.id)) for d in page.items],
        complete=page.complete,
    )


@ops_router.post("/dead-letters/replay", response_model=ReplayResult)
async def replay_dead_letters(
    caller: OperatorDep, request: Request, session: SessionDep, body: ReplayRequest
) -> ReplayResult:
    """Republish dead letters to their original topic, each at most once.

    Safe to repeat: what was replayed before is reported under ``already_replayed``.
    """
    if not caller.is_operator:
        raise OperatorOnly("Replaying dead letters is for the marketplace operator.")
    settings: ServiceSettings = request.app.state.settings
    outcome = await dead_letters.replay_dead_letters(
        session,
        settings.kafka_bootstrap_servers,
        topic=_registered(body.topic).name,
        group_id=settings.service_name,
        ids=None if body.offsets is None else [(o.partition, o.offset) for o in body.offsets],
        replayed_by=caller.client_id,
    )

    def position(letter_id: dead_letters.DeadLetterId) -> DeadLetterPosition:
        return DeadLetterPosition(partition=letter_id[0], offset=letter_id[1])

    return ReplayResult(
        replayed=[DeadLetterRead.of(d, datetime.now(UTC)) for d in outcome.replayed],
        already_replayed=[position(i) for i in outcome.already_replayed],
        not_found=[position(i) for i in outcome.not_found],
    )
