from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from vitrina_contracts.layout import default_out_dir
from vitrina_contracts.registry import EVENT_TYPES, TOPICS

ID = re.compile(r"^[A-Za-z0-9_\-]+$")  # AsyncAPI 3.0's pattern for component and channel ids


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((default_out_dir() / "asyncapi.yaml").read_text())
    return loaded


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_header(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"]
    assert document["info"]["version"]
    assert document["defaultContentType"] == "application/cloudevents+json"
    assert document["servers"]["kafka"]["protocol"] == "kafka"
    assert document["servers"]["kafka"]["host"]


def test_one_channel_per_topic(document: dict[str, Any]) -> None:
    channels = document["channels"]

    assert sorted(channel["address"] for channel in channels.values()) == sorted(
        t.name for t in TOPICS
    )
    for t in TOPICS:
        (channel,) = (c for c in channels.values() if c["address"] == t.name)
        kafka = channel["bindings"]["kafka"]
        assert kafka["topic"] == t.name
        assert kafka["partitions"] == t.partitions
        assert kafka["topicConfiguration"]["retention.ms"] == t.retention_ms
        assert t.key in channel["description"]
        names = {_resolve(document, m["$ref"])["name"] for m in channel["messages"].values()}
        assert names == {cls.event_type for cls in t.events}


def test_ids_are_valid_asyncapi_ids(document: dict[str, Any]) -> None:
    for section in (
        document["channels"],
        document["operations"],
        document["components"]["messages"],
    ):
        for key in section:
            assert ID.match(key), key


def test_every_reference_of_every_operation_resolves(document: dict[str, Any]) -> None:
    for operation_id, operation in document["operations"].items():
        assert operation["action"] in ("send", "receive"), operation_id
        channel_ref = operation["channel"]["$ref"]
        channel = _resolve(document, channel_ref)
        for message in operation["messages"]:
            # AsyncAPI 3: an operation's messages must be messages of its channel.
            assert message["$ref"].startswith(f"{channel_ref}/messages/"), operation_id
            in_channel = _resolve(document, message["$ref"])
            assert in_channel in channel["messages"].values()
            assert "payload" in _resolve(document, in_channel["$ref"])


def test_the_owner_sends_and_the_consumers_receive(document: dict[str, Any]) -> None:
    def services(action: str, address: str) -> set[str]:
        return {
            operation["tags"][0]["name"]
            for operation in document["operations"].values()
            if operation["action"] == action
            and _resolve(document, operation["channel"]["$ref"])["address"] == address
        }

    for t in TOPICS:
        assert services("send", t.name) == {t.owner}
        assert services("receive", t.name) == set(t.consumers)


def test_messages_point_at_the_schema_files_and_carry_valid_examples(
    document: dict[str, Any],
) -> None:
    messages = document["components"]["messages"]

    assert {m["name"] for m in messages.values()} == set(EVENT_TYPES)
    for message in messages.values():
        schema_file = Path(default_out_dir(), message["payload"]["$ref"])
        assert schema_file.is_file(), schema_file
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        validator = Draft202012Validator(yaml.safe_load(schema_file.read_text()))
        for example in message["examples"]:
            validator.validate(example["payload"])
            assert example["payload"]["type"] == message["name"]
