"""The CloudEvents 1.0 envelope every event travels in: structured mode, JSON.

Producers wrap an event with ``build_envelope`` and send ``to_json_bytes()``; consumers read
``CloudEvent.from_json_bytes`` and then ``decode_event``. The two steps fail differently on
purpose: bytes that are no envelope at all (``InvalidEnvelope``) say nothing about which
handler was meant, while an envelope of a known type with bad data (``InvalidEventData``) does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.config import JsonDict

from vitrina_contracts.events.base import Event
from vitrina_contracts.registry import event_class

# W3C Trace Context, version-format shape: version-traceid-parentid-flags in lowercase hex.
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


class InvalidEnvelope(ValueError):
    """The bytes are not a CloudEvent this system can read (not JSON, attributes missing...)."""


class InvalidEventData(ValueError):
    """A CloudEvent of a known type whose ``data`` does not satisfy the type's contract."""


def _require_wire_attributes(schema: JsonDict) -> None:
    # Defaults fill these in for Python callers, but CloudEvents requires them on the wire,
    # and every producer writes them, so the schema says so.
    required = schema.setdefault("required", [])
    assert isinstance(required, list)
    required.extend(name for name in ("specversion", "datacontenttype") if name not in required)


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope with Vitrina's extension attributes.

    ``subject`` is the aggregate id and doubles as the Kafka key, so one aggregate's events stay
    in order; ``aggregateversion`` lets projections ignore stale events.
    """

    model_config = ConfigDict(
        frozen=True, extra="ignore", json_schema_extra=_require_wire_attributes
    )

    specversion: Literal["1.0"] = "1.0"
    id: UUID = Field(description="Unique per event; consumers deduplicate on it.")
    type: str = Field(min_length=1, description="e.g. ru.vitrina.billing.invoice.issued")
    source: str = Field(
        min_length=1,
        pattern=r"^\S+$",
        description="URI-reference of the producing service, e.g. /vitrina/billing.",
        json_schema_extra={"format": "uri-reference"},
    )
    time: AwareDatetime
    subject: str = Field(min_length=1, description="The aggregate id; also the Kafka key.")
    datacontenttype: Literal["application/json"] = "application/json"
    tenantid: str | None = Field(default=None, description="The organization the event is about.")
    correlationid: str | None = Field(default=None, description="The flow this event belongs to.")
    causationid: str | None = Field(default=None, description="The id of the event that caused it.")
    traceparent: str | None = Field(
        default=None, pattern=TRACEPARENT_PATTERN, description="W3C Trace Context traceparent."
    )
    aggregateversion: int = Field(ge=1, description="The aggregate's version after the event.")
    data: dict[str, Any]

    def to_json_bytes(self) -> bytes:
        """The envelope as UTF-8 JSON; unset optional attributes are left out, not null."""
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json_bytes(cls, raw: bytes) -> CloudEvent:
        """Parse a structured-mode CloudEvent.

        Raises:
            InvalidEnvelope: ``raw`` is not JSON, not an object, or an attribute is missing or
                invalid.
        """
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidEnvelope(f"not a valid CloudEvent: {_describe(exc)}") from exc


def build_envelope(
    event: Event,
    *,
    source: str,
    subject: str,
    aggregate_version: int,
    tenant_id: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    traceparent: str | None = None,
    event_id: UUID | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """Wrap ``event`` in its CloudEvent: a fresh id and the current UTC time unless given.

    Raises:
        pydantic.ValidationError: an attribute is invalid (a naive ``time``, a malformed
            ``traceparent``, ``aggregate_version`` below 1...).
    """
    return CloudEvent(
        id=event_id if event_id is not None else uuid4(),
        type=event.event_type,
        source=source,
        time=time if time is not None else datetime.now(UTC),
        subject=subject,
        tenantid=tenant_id,
        correlationid=correlation_id,
        causationid=causation_id,
        traceparent=traceparent,
        aggregateversion=aggregate_version,
        data=event.model_dump(mode="json"),
    )


def decode_event(envelope: CloudEvent) -> Event | None:
    """The event inside ``envelope``, or None when its type is unknown here.

    Consumers ignore event types they do not know (a producer may add types before every
    consumer upgrades), and ignore unknown fields in ``data``.

    Raises:
        InvalidEventData: the type is known but ``data`` does not satisfy its model.
    """
    cls = event_class(envelope.type)
    if cls is None:
        return None
    try:
        return cls.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEventData(f"{envelope.type} {envelope.id}: {_describe(exc)}") from exc


def _describe(exc: ValidationError) -> str:
    # One line per problem, without the input values: they may hold personal data and these
    # messages end up in logs and dead-letter headers.
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )
