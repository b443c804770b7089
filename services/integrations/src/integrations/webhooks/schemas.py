from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import Field, field_validator, model_validator

from integrations.webhooks.domain import EVENT_TYPES
from vitrina_kit.api import RequestModel, ResponseModel

URL_DESCRIPTION = "https URL on a public address; checked again before every delivery."
EVENT_TYPES_DESCRIPTION = f"Any of: {', '.join(sorted(EVENT_TYPES))}."


def _known(event_types: list[str] | None) -> list[str] | None:
    unknown = sorted(set(event_types or ()) - EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    return event_types


class EndpointCreate(RequestModel):
    url: str = Field(min_length=1, max_length=2000, description=URL_DESCRIPTION)
    description: str = Field(default="", max_length=200)
    event_types: list[str] = Field(
        default_factory=list, max_length=len(EVENT_TYPES), description=EVENT_TYPES_DESCRIPTION
    )
    provisioning: bool = Field(
        default=False,
        description="Partners: send the provisioning calls for subscriptions to the partner's "
        "products here (one such endpoint per partner).",
    )

    @field_validator("event_types")
    @classmethod
    def _known_event_types(cls, value: list[str]) -> list[str]:
        _known(value)
        return value


class EndpointUpdate(RequestModel):
    """What to change; a field left out stays as it is. Whether the endpoint takes provisioning
    calls is not changed here: register (or delete) an endpoint for that."""

    url: str | None = Field(
        default=None, min_length=1, max_length=2000, description=URL_DESCRIPTION
    )
    description: str | None = Field(default=None, max_length=200)
    event_types: list[str] | None = Field(
        default=None, max_length=len(EVENT_TYPES), description=EVENT_TYPES_DESCRIPTION
    )

    @field_validator("event_types")
    @classmethod
    def _known_event_types(cls, value: list[str] | None) -> list[str] | None:
        return _known(value)

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        # null is not a value any of these fields can take; leave a field out to keep it.
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null; leave a field out to keep it")
        return self


class EndpointRead(ResponseModel):
    endpoint_id: uuid.UUID
    owner_id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    provisioning: bool
    status: str
    consecutive_failures: int
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    secret_rotated_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries are signed with the secret the last rotation "
        "replaced as well as with the current one."
    )
    created_at: datetime


class EndpointCreated(EndpointRead):
    signing_secret: str = Field(
        description="Verify every delivery's Vitrina-Signature with it. Shown this once."
    )


class SecretRotated(EndpointRead):
    signing_secret: str = Field(
        description="The new secret: every delivery's Vitrina-Signature carries a v1 made with "
        "it, and until previous_secret_expires_at one made with the previous secret too. Shown "
        "this once."
    )


class EndpointPage(ResponseModel):
    items: list[EndpointRead]
    next_cursor: str | None


class DeliveryRead(ResponseModel):
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    purpose: str
    message_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(ResponseModel):
    items: list[DeliveryRead]
    next_cursor: str | None


class AttemptRead(ResponseModel):
    attempt_no: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_body: str


class DeliveryDetail(DeliveryRead):
    body: str = Field(description="The message as sent (JSON).")
    attempt_log: list[AttemptRead]


class NotificationRead(ResponseModel):
    notification_id: uuid.UUID
    endpoint_id: uuid.UUID
    kind: str
    message: str
    created_at: datetime
