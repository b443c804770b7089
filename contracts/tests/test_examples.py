"""Every event's example survives the trip producer -> bytes -> consumer, and fits its schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from vitrina_contracts.envelope import CloudEvent, build_envelope, decode_event
from vitrina_contracts.events.base import Event
from vitrina_contracts.layout import ENVELOPE_SCHEMA, default_out_dir, event_schema_path
from vitrina_contracts.registry import EVENT_TYPES, topic

EVENTS = sorted(EVENT_TYPES.values(), key=lambda cls: cls.event_type)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _committed_schema(path: str) -> dict[str, Any]:
    """A schema file as it is in contracts/ (what consumers in other languages read)."""
    schema: dict[str, Any] = json.loads((default_out_dir() / path).read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


def _validator(path: str) -> Draft202012Validator:
    return Draft202012Validator(_committed_schema(path), format_checker=FormatChecker())


def _wire(event: Event) -> bytes:
    envelope = build_envelope(
        event,
        source=f"/vitrina/{topic(event.topic).owner}",
        subject=event.aggregate_id(),
        aggregate_version=3,
        tenant_id=str(event.aggregate_id()),
        correlation_id="7f0c7a52-3c1d-4b8e-9d7a-2b1e0c9f4a11",
        traceparent=TRACEPARENT,
    )
    return envelope.to_json_bytes()


@pytest.mark.parametrize("event_class", EVENTS, ids=lambda cls: cls.event_type)
def test_example_round_trips_and_validates_against_its_schema(event_class: type[Event]) -> None:
    example = event_class.example()

    raw = _wire(example)
    envelope = CloudEvent.from_json_bytes(raw)
    decoded = decode_event(envelope)

    assert type(example) is event_class
    assert decoded == example
    assert envelope.type == event_class.event_type
    assert envelope.subject == example.aggregate_id()
    wire = json.loads(raw)
    _validator(event_schema_path(event_class.event_type)).validate(wire)
    _validator(ENVELOPE_SCHEMA).validate(wire)


@pytest.mark.parametrize("event_class", EVENTS, ids=lambda cls: cls.event_type)
def test_schema_names_the_type_and_topic(event_class: type[Event]) -> None:
    schema = _committed_schema(event_schema_path(event_class.event_type))

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://vitrina.dev/schemas/events/{event_class.event_type}.json"
    assert schema["properties"]["type"]["const"] == event_class.event_type
    assert schema["x-vitrina-topic"] == event_class.topic
    assert schema["properties"]["data"]["title"] == event_class.__name__


def test_the_schema_refuses_a_message_of_another_type() -> None:
    validator = _validator("schemas/ru.vitrina.catalog.plan.price_scheduled.json")
    wire = json.loads(_wire(EVENT_TYPES["ru.vitrina.catalog.plan.price_scheduled"].example()))

    with pytest.raises(SchemaError, match="was expected"):
        validator.validate(wire | {"type": "ru.vitrina.catalog.product.published"})


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("unit_price",), 490.0),  # money as a JSON number
        (("unit_price",), "490.5"),  # one decimal
        (("product_version",), 0),
        (("effective_on",), None),
        (("product_id",), "not-a-uuid"),
    ],
)
def test_the_schema_has_teeth(path: tuple[str, ...], value: object) -> None:
    validator = _validator("schemas/ru.vitrina.catalog.plan.price_scheduled.json")
    wire = json.loads(_wire(EVENT_TYPES["ru.vitrina.catalog.plan.price_scheduled"].example()))
    target = wire["data"]
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value

    with pytest.raises(SchemaError):
        validator.validate(wire)


def test_nested_money_and_requisites_are_checked_too() -> None:
    validator = _validator("schemas/ru.vitrina.billing.invoice.issued.json")
    wire = json.loads(_wire(EVENT_TYPES["ru.vitrina.billing.invoice.issued"].example()))
    line = wire["data"]["invoice"]["lines"][0]

    validator.validate(wire)
    line["amount_total"] = 5400
    with pytest.raises(SchemaError):
        validator.validate(wire)
    line["amount_total"] = "5400.00"
    wire["data"]["invoice"]["buyer"]["inn"] = "50123"
    with pytest.raises(SchemaError):
        validator.validate(wire)


def test_schemas_are_read_from_the_contracts_directory() -> None:
    assert default_out_dir() == Path(__file__).resolve().parents[1]
