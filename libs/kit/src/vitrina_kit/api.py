"""FastAPI dependencies every service's routers use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_kit import audit


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    # The request owns the transaction: it commits when the route returns and rolls back if
    # the route raises. The audit row commits with the route's changes, or not at all.
    async with request.app.state.sessions() as session, session.begin():
        yield session
        await audit.write(request)


# scope="function": the transaction ends as the route returns, before the response is sent.
# (FastAPI's default would commit after sending: a client could see 201 for a row that is not
# there yet, or that a failing commit never writes.)
SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
"""The request's database session, inside the request's one transaction."""


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    """Base of response bodies, built from ORM objects or domain values."""

    model_config = ConfigDict(from_attributes=True)
