"""Idempotency-Key for POSTs that create something.

The first request with a key claims it by inserting a row in the request's transaction, the
one its creation and its stored response commit in; a concurrent request with the same key
waits on that row's unique index until the first commits, then replays its stored response.
The same key with a different body (or another endpoint) is a 422. If the first request fails,
its transaction rolls back with the claim, so a retry runs afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import DateTime, Integer, String, Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_kit import audit
from vitrina_kit.api import SessionDep
from vitrina_kit.db import KitBase
from vitrina_kit.problems import DomainError

REPLAYED_HEADER = "Idempotent-Replayed"

ResponseT = TypeVar("ResponseT", bound=BaseModel)


class IdempotencyRecord(KitBase):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any] = mapped_column(JSONB, nullable=True)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# Claiming a key and storing the answer run on every creation: plain statements on the table,
# built once (their values are bound at execution), so nothing is rebuilt or re-keyed per request.
_keys = cast(Table, IdempotencyRecord.__table__)
_CLAIM = insert(_keys).on_conflict_do_nothing().returning(_keys.c.key)
_STORE_RESPONSE = update(_keys).where(
    _keys.c.scope == bindparam("claimed_scope"), _keys.c.key == bindparam("claimed_key")
)


class IdempotencyKeyReused(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for a different request"


def fingerprint(body: bytes) -> str:
    """A digest of the request body that ignores JSON formatting and key order."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class Idempotency:
    """The Idempotency-Key of one request, ready to run the route's creation once."""

    def __init__(
        self,
        session: AsyncSession,
        request: Request,
        *,
        scope: str,
        key: str,
        method: str,
        path: str,
        digest: str,
    ) -> None:
        self._session = session
        self._request = request
        self._scope = scope
        self._key = key
        self._method = method
        self._path = path
        self._digest = digest

    async def respond(
        self,
        create: Callable[[], Awaitable[object]],
        *,
        response_model: type[ResponseT],
        status_code: int = HTTPStatus.CREATED,
        location: Callable[[ResponseT], str] | None = None,
    ) -> JSONResponse:
        """Run ``create`` the first time this key is seen; replay its response afterwards.

        The created object is rendered through ``response_model``; ``location`` gives the
        ``Location`` header of the new resource.
        """
        claimed = await self._session.scalar(
            _CLAIM,
            {
                "scope": self._scope,
                "key": self._key,
                "method": self._method,
                "path": self._path,
                "request_fingerprint": self._digest,
            },
        )
        if claimed is None:
            audit.skip(self._request)  # a replay changes nothing
            return await self._replay()

        result = response_model.model_validate(await create())
        body = result.model_dump(mode="json", by_alias=True)
        headers = {"Location": location(result)} if location else {}
        if location:
            audit.note_created(self._request, headers["Location"])
        await self._session.execute(
            _STORE_RESPONSE,
            {
                "claimed_scope": self._scope,
                "claimed_key": self._key,
                "response_status": status_code,
                "response_body": body,
                "response_headers": headers,
            },
        )
        return JSONResponse(body, status_code=status_code, headers=headers)

    async def _replay(self) -> JSONResponse:
        stored = (
            await self._session.execute(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == self._scope, IdempotencyRecord.key == self._key
                )
            )
        ).scalar_one()
        if (stored.method, stored.path, stored.request_fingerprint) != (
            self._method,
            self._path,
            self._digest,
        ):
            raise IdempotencyKeyReused(
                "Send a new Idempotency-Key for a new request; "
                "a key can only repeat the request it was first used with."
            )
        headers = {**(stored.response_headers or {}), REPLAYED_HEADER: "true"}
        return JSONResponse(
            stored.response_body, status_code=stored.response_status or 200, headers=headers
        )


async def _idempotency(
    request: Request,
    session: SessionDep,
    idempotency_key: Annotated[
        str,
        Header(
            min_length=1,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="A unique key per creation; repeating it with the same body replays "
            "the first response instead of creating twice.",
        ),
    ],
) -> Idempotency:
    # Keys are per caller once callers are authenticated; until then one shared scope.
    scope = str(getattr(request.state, "principal_scope", "public"))
    return Idempotency(
        session,
        request,
        scope=scope,
        key=idempotency_key,
        method=request.method,
        path=request.url.path,
        digest=fingerprint(await request.body()),
    )


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
"""The request's Idempotency-Key (required): ``return await idempotency.respond(...)``."""
