from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr

from integrations.connectors.domain import AuthMethod, ConnectorKind
from integrations.connectors.models import Connector
from vitrina_kit.api import RequestModel, ResponseModel


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


HttpUrl = Annotated[str, Field(min_length=8, max_length=2000), AfterValidator(_http_url)]
OptionName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Options = Annotated[dict[OptionName, Annotated[str, Field(max_length=500)]], Field(max_length=20)]
# writeOnly in the OpenAPI document: clients see the field exists but never get it back.
Secrets = Annotated[
    dict[OptionName, Annotated[SecretStr, Field(min_length=1, max_length=4000)]],
    Field(max_length=5, json_schema_extra={"writeOnly": True}),
]


class ConnectorCreate(RequestModel):
    organization_id: uuid.UUID | None = Field(
        default=None,
        description="The owner; only the operator may name another organization (default: "
        "the caller's own).",
    )
    kind: ConnectorKind
    name: str = Field(min_length=1, max_length=100)
    endpoint_url: HttpUrl
    auth_method: AuthMethod
    token_url: HttpUrl | None = None
    authorize_url: HttpUrl | None = None
    login: str | None = Field(default=None, min_length=1, max_length=200)
    scope: str | None = Field(default=None, max_length=500)
    options: Options = Field(default_factory=dict)
    secrets: Secrets = Field(default_factory=dict)
    enabled: bool = True


class ConnectorUpdate(RequestModel):
    """Fields to change; ``secrets``, when given, replaces every secret the connector holds."""

    endpoint_url: HttpUrl | None = None
    token_url: HttpUrl | None = None
    authorize_url: HttpUrl | None = None
    login: str | None = Field(default=None, min_length=1, max_length=200)
    scope: str | None = Field(default=None, max_length=500)
    options: Options | None = None
    secrets: Secrets | None = None
    enabled: bool | None = None


class AuthorizationCodeGrant(RequestModel):
    """What the EDO operator's (or 1C's) authorization page redirected back with."""

    code: str = Field(min_length=1, max_length=2000)
    redirect_uri: HttpUrl


class ConnectorRead(ResponseModel):
    connector_id: uuid.UUID
    organization_id: uuid.UUID
    kind: ConnectorKind
    name: str
    endpoint_url: str
    auth_method: AuthMethod
    token_url: str | None
    authorize_url: str | None
    login: str | None
    scope: str | None
    options: dict[str, str]
    enabled: bool
    has_secret: bool = Field(description="Secrets are write-only: this says one is stored.")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, connector: Connector) -> ConnectorRead:
        return cls.model_validate(
            {
                **{
                    name: getattr(connector, name)
                    for name in cls.model_fields
                    if name != "has_secret"
                },
                "has_secret": connector.secrets_encrypted is not None,
            }
        )


class ConnectorPage(ResponseModel):
    items: list[ConnectorRead]
    next_cursor: str | None
