"""The audit log: who changed what, when and from where, in every service.

Every state-changing request of an authenticated caller leaves one row, written in the
request's own transaction (so a change and its record commit together, or neither does): the
client and organization, the route, the path's ids (and the id of what a POST created), the
source address and the correlation id. The operator reads it at ``GET /ops/audit``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from fastapi import Request
from sqlalchemy import BigInteger, DateTime, String, Table, func, insert
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


# A request's row is one plain INSERT, built once, with no ORM bookkeeping.
_INSERT_ROW = insert(cast(Table, AuditEntry.__table__))


def record(request: Request, session: AsyncSession, caller: Caller) -> None:
    """Start this request's audit row, if the request may change state; :func:`write` adds it
    to the request's transaction once the route has succeeded."""
    if request.method in _SAFE_METHODS:
        return
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    request.state.audit_row = {
        "client_id": caller.client_id,
        "organization_id": caller.organization_id,
        "organization_kind": str(caller.organization_kind),
        "action": f"{request.method} {template}",
        "target": {name: str(value) for name, value in request.path_params.items()},
        "source_address": request.client.host if request.client else None,
        "correlation_id": context.correlation_id.get(),
    }
    request.state.audit_session = session


async def write(request: Request) -> None:
    """Write the request's audit row (if any) in its transaction, just before the commit.

    Last, so that the row is inserted once, complete (with what the route created).
    """
    row: dict[str, Any] | None = getattr(request.state, "audit_row", None)
    session: AsyncSession | None = getattr(request.state, "audit_session", None)
    if row is not None and session is not None:
        await session.execute(_INSERT_ROW, row)


def note_created(request: Request, resource_id: str) -> None:
    """Name the resource a creation made in this request's audit row."""
    row: dict[str, Any] | None = getattr(request.state, "audit_row", None)
    if row is not None:
        row["target"] = {**row["target"], "created": resource_id}


def skip(request: Request) -> None:
    """This request changed nothing after all (e.g. an Idempotency-Key replay): no row."""
    request.state.audit_row = None
