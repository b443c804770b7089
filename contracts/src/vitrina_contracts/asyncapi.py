"""The AsyncAPI 3.0.0 document of all topics, built from the registry.

One channel per topic (its address is the topic name), one message per event type (payload: the
event type's JSON Schema file, by reference), a ``send`` operation for the topic's owner and a
``receive`` operation for each consumer service. The Kafka key is described in each message's
Kafka binding (where AsyncAPI's Kafka bindings put keys); partitions and retention in the
channel's binding.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.layout import event_schema_path
from vitrina_contracts.registry import TOPICS, Topic

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
CONTENT_TYPE = "application/cloudevents+json"

# Examples must not change from one generation to the next, so their envelopes are fixed too.
_EXAMPLE_TIME = datetime(2025, 12, 2, 11, 0, tzinfo=UTC)

_DESCRIPTION = """\
Every event crossing a Vitrina service boundary. Messages are CloudEvents 1.0 in structured \
mode (the whole envelope is the Kafka record's value, JSON). The record key is the envelope's \
`subject`, the aggregate id, so one aggregate's events stay in order. Consumers deduplicate on \
`id`, ignore event types and fields they do not know, and apply snapshots by \
`aggregateversion`. A message that cannot be processed goes to `<topic>.dlq`."""


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI document, as plain data ready to be dumped to YAML."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in TOPICS:
        channel = channel_id(topic)
        channels[channel] = _channel(topic)
        for event in topic.events:
            messages[event.__name__] = _message(event, topic)
        operations[f"{topic.owner}_sends_{channel}"] = _operation("send", topic, topic.owner)
        for service in topic.consumers:
            operations[f"{service}_receives_{channel}"] = _operation("receive", topic, service)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Vitrina events",
            "version": "1.0.0",
            "description": _DESCRIPTION,
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "The local stack's broker; production runs Apache Kafka.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def channel_id(topic: Topic) -> str:
    """The channel's id in the document (AsyncAPI ids may not contain dots)."""
    return topic.name.replace(".", "_")


def _channel(topic: Topic) -> dict[str, Any]:
    configuration: dict[str, Any] = {}
    if topic.retention_ms is not None:
        configuration["retention.ms"] = topic.retention_ms
    return {
        "address": topic.name,
        "title": topic.name,
        "description": (f"Owned by {topic.owner}. Key: {topic.key}. Dead letters: {topic.dlq}."),
        "messages": {
            event.__name__: {"$ref": f"#/components/messages/{event.__name__}"}
            for event in topic.events
        },
        "bindings": {
            "kafka": {
                "topic": topic.name,
                "partitions": topic.partitions,
                "topicConfiguration": configuration,
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _message(event: type[Event], topic: Topic) -> dict[str, Any]:
    example = event.example()
    envelope = build_envelope(
        example,
        source=f"/vitrina/{topic.owner}",
        subject=example.aggregate_id(),
        aggregate_version=1,
        event_id=uuid5(NAMESPACE_URL, f"https://vitrina.dev/examples/{event.event_type}"),
        time=_EXAMPLE_TIME,
    )
    return {
        "name": event.event_type,
        "title": event.__name__,
        "summary": _summary(event),
        "contentType": CONTENT_TYPE,
        "payload": {"$ref": f"./{event_schema_path(event.event_type)}"},
        "correlationId": {"location": "$message.payload#/correlationid"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"The {topic.key}."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "examples": [{"name": "example", "payload": json.loads(envelope.to_json_bytes())}],
    }


def _operation(action: str, topic: Topic, service: str) -> dict[str, Any]:
    channel = channel_id(topic)
    verb = "publishes to" if action == "send" else "consumes"
    return {
        "action": action,
        "title": f"{service} {verb} {topic.name}",
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [
            {"$ref": f"#/channels/{channel}/messages/{event.__name__}"} for event in topic.events
        ],
        "tags": [{"name": service}],
    }


def _summary(event: type[Event]) -> str:
    return (event.__doc__ or event.__name__).strip().splitlines()[0]
