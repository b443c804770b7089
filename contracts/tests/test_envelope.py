from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from vitrina_contracts.envelope import (
    CloudEvent,
    InvalidEnvelope,
    InvalidEventData,
    build_envelope,
    decode_event,
)
from vitrina_contracts.events.catalog import PlanPriceScheduled, ProductPublished

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _envelope(**overrides: Any) -> CloudEvent:
    event = ProductPublished.example()
    arguments: dict[str, Any] = {
        "source": "/vitrina/catalog",
        "subject": event.aggregate_id(),
        "aggregate_version": 1,
    }
    return build_envelope(event, **(arguments | overrides))


def _wire(**changes: Any) -> bytes:
    """A valid envelope's JSON with some attributes changed (None removes one)."""
    document = json.loads(_envelope().to_json_bytes())
    for name, value in changes.items():
        if value is None:
            document.pop(name)
        else:
            document[name] = value
    return json.dumps(document).encode()


def test_build_envelope_fills_in_a_fresh_id_and_the_current_utc_time() -> None:
    before = datetime.now(UTC)
    first, second = _envelope(), _envelope()

    assert first.id != second.id
    assert first.id.version == 4
    assert before <= first.time <= datetime.now(UTC)
    assert first.time.utcoffset() == timedelta(0)
    assert first.type == "ru.vitrina.catalog.product.published"
    assert first.specversion == "1.0"
    assert first.datacontenttype == "application/json"
    assert first.data == ProductPublished.example().model_dump(mode="json")


def test_build_envelope_keeps_what_it_is_given() -> None:
    event_id = uuid4()
    at = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
    envelope = _envelope(
        event_id=event_id,
        time=at,
        aggregate_version=7,
        tenant_id="tenant-1",
        correlation_id="corr-1",
        causation_id="cause-1",
        traceparent=TRACEPARENT,
    )

    assert (envelope.id, envelope.time, envelope.aggregateversion) == (event_id, at, 7)
    assert (envelope.tenantid, envelope.correlationid, envelope.causationid) == (
        "tenant-1",
        "corr-1",
        "cause-1",
    )
    assert envelope.traceparent == TRACEPARENT


@pytest.mark.parametrize(
    "bad",
    [
        {"time": datetime(2025, 12, 1, 12, 0)},  # naive: whose noon?
        {"traceparent": "not-a-traceparent"},
        {"traceparent": TRACEPARENT.upper()},
        {"aggregate_version": 0},
        {"subject": ""},
        {"source": "has spaces"},
    ],
)
def test_build_envelope_refuses_invalid_attributes(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _envelope(**bad)


def test_money_travels_as_a_string() -> None:
    event = PlanPriceScheduled.example()
    envelope = build_envelope(event, source="/vitrina/catalog", subject="s", aggregate_version=2)

    wire = json.loads(envelope.to_json_bytes())

    assert wire["data"]["unit_price"] == "490.00"
    assert decode_event(CloudEvent.from_json_bytes(envelope.to_json_bytes())) == event
    assert event.unit_price == Decimal("490.00")


def test_json_leaves_unset_extensions_out_and_round_trips() -> None:
    bare = _envelope()
    traced = _envelope(tenant_id="tenant-1", traceparent=TRACEPARENT)

    bare_wire = json.loads(bare.to_json_bytes())
    traced_wire = json.loads(traced.to_json_bytes())

    for name in ("tenantid", "correlationid", "causationid", "traceparent"):
        assert name not in bare_wire
    assert traced_wire["tenantid"] == "tenant-1"
    assert traced_wire["traceparent"] == TRACEPARENT
    assert CloudEvent.from_json_bytes(bare.to_json_bytes()) == bare
    assert CloudEvent.from_json_bytes(traced.to_json_bytes()) == traced


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",  # not UTF-8
        b"[]",
        b'"a string"',
        b"null",
        b'{"specversion": "1.0"}',
        _wire(id=None),
        _wire(id="not-a-uuid"),
        _wire(type=None),
        _wire(source=None),
        _wire(subject=None),
        _wire(data=None),
        _wire(data=[1, 2]),
        _wire(specversion="0.3"),
        _wire(datacontenttype="application/xml"),
        _wire(time="2025-12-01T12:00:00"),  # no offset
        _wire(time="yesterday"),
        _wire(aggregateversion=0),
        _wire(traceparent="00-xyz"),
    ],
)
def test_malformed_bytes_raise_invalid_envelope(raw: bytes) -> None:
    with pytest.raises(InvalidEnvelope, match="not a valid CloudEvent"):
        CloudEvent.from_json_bytes(raw)


def test_invalid_envelope_is_a_value_error() -> None:
    assert issubclass(InvalidEnvelope, ValueError)
    assert issubclass(InvalidEventData, ValueError)


def test_unknown_attributes_and_unknown_data_fields_are_ignored() -> None:
    document = json.loads(_envelope().to_json_bytes())
    document["someextension"] = "from a newer producer"
    document["data"]["added_later"] = {"nested": True}
    document["data"]["product"]["plans"][0]["added_later_too"] = 1

    envelope = CloudEvent.from_json_bytes(json.dumps(document).encode())
    event = decode_event(envelope)

    assert not hasattr(envelope, "someextension")
    assert event == ProductPublished.example()


def test_an_unknown_event_type_decodes_to_none() -> None:
    envelope = _envelope().model_copy(
        update={"type": "ru.vitrina.catalog.product.teleported", "data": {"anything": 1}}
    )

    assert decode_event(envelope) is None


def test_data_that_breaks_the_contract_raises_invalid_event_data() -> None:
    envelope = _envelope()
    data = json.loads(json.dumps(envelope.data))
    data["product"]["plans"][0]["unit_price"] = "450.005"
    del data["product"]["slug"]
    broken = envelope.model_copy(update={"data": data})

    with pytest.raises(InvalidEventData) as raised:
        decode_event(broken)

    message = str(raised.value)
    assert message.startswith(f"ru.vitrina.catalog.product.published {envelope.id}:")
    assert "product.slug: Field required" in message
    assert "product.plans.0.unit_price" in message
    assert "450.005" not in message  # input values stay out of logs and DLQ headers


def test_decoded_events_are_frozen() -> None:
    event = decode_event(_envelope())
    assert isinstance(event, ProductPublished)

    with pytest.raises(ValidationError):
        event.product = event.product  # type: ignore[misc]
