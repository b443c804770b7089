from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from identity.clients.domain import ClientStatus
from vitrina_kit.api import RequestModel, ResponseModel

Scope = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z]+:[a-z]+$")]


class ClientCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200, description="What the client is for.")
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=20,
        description="The scopes its tokens may carry: a subset of what the organization's kind "
        "allows.",
    )


class ClientRead(ResponseModel):
    client_id: str
    organization_id: uuid.UUID
    name: str
    scopes: list[str]
    status: ClientStatus
    created_at: datetime
    secret_rotated_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until when the secret before the last rotation still works."
    )
    revoked_at: datetime | None


class ClientWithSecret(ClientRead):
    client_secret: str = Field(
        description="Shown this once; only its hash is kept. Lost: rotate the secret."
    )


class ClientList(ResponseModel):
    items: list[ClientRead]
