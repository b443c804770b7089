"""The audit log: who changed what, when and from where, in every service.

Every state-changing request of an authenticated caller leaves one row, written in the
request's own transaction (so a change and its record commit together, or neither does): the
client and organization, the route, the path's ids (and the id of what a POST created), the
source address and the correlation id. The operator reads it at ``GET /ops/audit``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy import BigInteger, DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_kit import context
from vitrina_kit.db import KitBase

if TYPE_CHECKING:
    from vitrina_kit.auth import Caller

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuditEntry(KitBase):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    client_id: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    organization_kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(300))
    target: Mapped[dict[str, Any]] = mapped_column(JSONB)
    source_address: Mapped[str | None] = mapped_column(String(64))
    correlation_id: Mapped[str | None] = mapped_column(String(128))


def record(request: Request, session: AsyncSession, caller: Caller) -> AuditEntry | None:
    """Add this request's audit row to its transaction, if the request may change state."""
    if request.method in _SAFE_METHODS:
        return None
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    entry = AuditEntry(
        client_id=caller.client_id,
        organization_id=caller.organization_id,
        organization_kind=str(caller.organization_kind),
        action=f"{request.method} {template}",
        target={name: str(value) for name, value in request.path_params.items()},
        source_address=request.client.host if request.client else None,
        correlation_id=context.correlation_id.get(),
    )
    session.add(entry)
    request.state.audit_entry = entry
    request.state.audit_session = session
    return entry


def note_created(request: Request, resource_id: str) -> None:
    """Name the resource a creation made in this request's audit row."""
    entry: AuditEntry | None = getattr(request.state, "audit_entry", None)
    if entry is not None:
        entry.target = {**entry.target, "created": resource_id}


def skip(request: Request) -> None:
    """This request changed nothing after all (e.g. an Idempotency-Key replay): no row."""
    entry: AuditEntry | None = getattr(request.state, "audit_entry", None)
    session: AsyncSession | None = getattr(request.state, "audit_session", None)
    if entry is not None and session is not None and entry in session:
        session.expunge(entry)  # still pending: nothing has been written for it
    request.state.audit_entry = None
