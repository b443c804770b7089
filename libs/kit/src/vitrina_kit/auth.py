"""Who is calling: the one dependency every router declares.

Until the Identity issue lands OAuth 2.0 tokens, the caller's organization comes from the
``X-Vitrina-Organization`` header, which only a trusted development setup may send. When tokens
arrive, :func:`current_caller` verifies the token instead; routers do not change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request


@dataclass(frozen=True)
class Caller:
    """The organization on whose behalf a request is made."""

    organization_id: uuid.UUID


async def current_caller(
    request: Request,
    x_vitrina_organization: Annotated[
        uuid.UUID, Header(description="The calling organization (development identity).")
    ],
) -> Caller:
    caller = Caller(organization_id=x_vitrina_organization)
    # Idempotency keys and other per-caller state are scoped by this value.
    request.state.principal_scope = str(caller.organization_id)
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
