from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, field_validator

from integrations.webhooks.domain import EVENT_TYPES
from vitrina_kit.api import RequestModel, ResponseModel


class EndpointCreate(RequestModel):
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="https URL on a public address; checked again before every delivery.",
    )
    description: str = Field(default="", max_length=200)
    event_types: list[str] = Field(
        default_factory=list,
        max_length=len(EVENT_TYPES),
        description=f"Any of: {', '.join(sorted(EVENT_TYPES))}.",
    )
    provisioning: bool = Field(
        default=False,
        description="Partners: send the provisioning calls for subscriptions to the partner's "
        "products here (one such endpoint per partner).",
    )

    @field_validator("event_types")
    @classmethod
    def _known_event_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - EVENT_TYPES)
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(unknown)}")
        return value


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
    created_at: datetime


class EndpointCreated(EndpointRead):
    signing_secret: str = Field(
        description="Verify every delivery's Vitrina-Signature with it. Shown this once."
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
