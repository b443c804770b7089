from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from vitrina_contracts.compat import breaking_changes
from vitrina_contracts.layout import default_out_dir


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required is not None:
        schema["required"] = required
    return schema


def string() -> dict[str, Any]:
    # A fresh dict each time: deepcopy keeps shared dicts shared, and edits must stay local.
    return {"type": "string"}


def nullable_string() -> dict[str, Any]:
    return {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}


OLD = _obj(
    {
        "id": {"type": "string", "format": "uuid"},
        "name": string(),
        "note": nullable_string(),
        "status": {"type": "string", "enum": ["active", "suspended"]},
        "kind": {"const": "business", "type": "string"},
        "seats": {"type": "integer", "minimum": 1, "maximum": 100},
        "code": {"type": "string", "maxLength": 20},
        "owner": {"$ref": "#/$defs/Owner"},
        "tags": {"type": "array", "items": string()},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}},
    },
    required=["id", "name", "status"],
)
OLD["$defs"] = {
    "Owner": _obj({"inn": string(), "kpp": nullable_string()}, required=["inn"]),
    "Line": _obj({"amount": {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"}}),
}


def _changed(edit: Any) -> dict[str, Any]:
    new = copy.deepcopy(OLD)
    edit(new)
    return new


def _props(schema: dict[str, Any], definition: str | None = None) -> dict[str, Any]:
    node = schema["$defs"][definition] if definition else schema
    properties: dict[str, Any] = node["properties"]
    return properties


BREAKING = {
    "removed field": (
        lambda s: _props(s).pop("name"),
        "name: property removed",
    ),
    "retyped field": (
        lambda s: _props(s).update(seats={"type": "string"}),
        "seats: type changed from integer to string",
    ),
    "format changed": (
        lambda s: _props(s)["id"].pop("format"),
        "id: format changed from 'uuid' to None",
    ),
    "field made nullable": (
        lambda s: _props(s).update(name=nullable_string()),
        "name: type changed from string to null|string",
    ),
    "optional field newly required": (
        lambda s: s["required"].append("note"),
        "note: property became required",
    ),
    "new required field": (
        lambda s: (_props(s).update(region=string()), s["required"].append("region")),
        "region: new property is required",
    ),
    "nested field removed (through $ref)": (
        lambda s: _props(s, "Owner").pop("kpp"),
        "owner.kpp: property removed",
    ),
    "nested field newly required": (
        lambda s: s["$defs"]["Owner"]["required"].append("kpp"),
        "owner.kpp: property became required",
    ),
    "nested object made nullable": (
        lambda s: _props(s).update(owner={"anyOf": [{"$ref": "#/$defs/Owner"}, {"type": "null"}]}),
        "owner: type changed from object to null|object",
    ),
    "array item type changed": (
        lambda s: _props(s)["tags"].update(items={"type": "integer"}),
        "tags[]: type changed from string to integer",
    ),
    "array item field pattern changed": (
        lambda s: _props(s, "Line")["amount"].update(pattern="^[0-9]+$"),
        "lines[].amount: pattern changed",
    ),
    "enum narrowed": (
        lambda s: _props(s)["status"].update(enum=["active"]),
        "status: enum narrowed: 'suspended' no longer allowed",
    ),
    "enum imposed": (
        lambda s: _props(s)["name"].update(enum=["a", "b"]),
        "name: now restricted to",
    ),
    "const changed": (
        lambda s: _props(s)["kind"].update(const="partner"),
        "kind: const changed from 'business' to 'partner'",
    ),
    "const dropped": (
        lambda s: _props(s)["kind"].pop("const"),
        "kind: const changed from 'business' to no const",
    ),
    "bound tightened": (
        lambda s: _props(s)["seats"].update(maximum=50),
        "seats: maximum tightened from 100 to 50",
    ),
    "length bound added": (
        lambda s: _props(s)["name"].update(minLength=3),
        "name: minLength tightened from None to 3",
    ),
    "additional properties closed": (
        lambda s: s.update(additionalProperties=False),
        "(root): additional properties are no longer allowed",
    ),
}


@pytest.mark.parametrize(("edit", "expected"), BREAKING.values(), ids=BREAKING.keys())
def test_breaking_change_is_reported_with_its_path(edit: Any, expected: str) -> None:
    problems = breaking_changes(OLD, _changed(edit))

    assert len(problems) == 1, problems
    assert problems[0].startswith(expected)


COMPATIBLE = {
    "new optional field": lambda s: _props(s).update(region=nullable_string()),
    "new optional nested field": lambda s: _props(s, "Owner").update(ogrn=string()),
    "enum widened": lambda s: _props(s)["status"].update(enum=["active", "suspended", "trial"]),
    "enum dropped": lambda s: _props(s)["status"].pop("enum"),
    "description and title changed": lambda s: s.update(description="new", title="New"),
    "nested description changed": lambda s: _props(s, "Owner")["inn"].update(description="ИНН"),
    "default changed": lambda s: _props(s)["note"].update(default=""),
    "bound relaxed": lambda s: _props(s)["seats"].update(maximum=1000, minimum=0),
    "requirement dropped": lambda s: s["required"].remove("status"),
    "$ref inlined": lambda s: _props(s).update(owner=copy.deepcopy(s["$defs"]["Owner"])),
    "definition renamed": lambda s: (
        s["$defs"].update(Person=s["$defs"].pop("Owner")),
        _props(s).update(owner={"$ref": "#/$defs/Person"}),
    ),
}


@pytest.mark.parametrize("edit", COMPATIBLE.values(), ids=COMPATIBLE.keys())
def test_compatible_change_is_fine(edit: Any) -> None:
    assert breaking_changes(OLD, _changed(edit)) == []


def test_every_problem_is_listed() -> None:
    def edit(s: dict[str, Any]) -> None:
        _props(s).pop("name")
        _props(s, "Owner").pop("inn")
        s["required"].append("note")

    problems = breaking_changes(OLD, _changed(edit))

    assert sorted(problems) == [
        "name: property removed",
        "note: property became required",
        "owner.inn: property removed",
    ]


def test_changes_inside_a_nullable_branch_are_found() -> None:
    def nullable_owner(s: dict[str, Any]) -> None:
        _props(s).update(owner={"anyOf": [{"$ref": "#/$defs/Owner"}, {"type": "null"}]})

    old = _changed(nullable_owner)
    new = copy.deepcopy(old)
    _props(new, "Owner").pop("inn")

    assert breaking_changes(old, new) == ["owner.inn: property removed"]


def test_recursive_definitions_terminate() -> None:
    tree: dict[str, Any] = {
        "$ref": "#/$defs/Category",
        "$defs": {
            "Category": _obj(
                {
                    "slug": string(),
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Category"}},
                }
            )
        },
    }
    smaller = copy.deepcopy(tree)
    del smaller["$defs"]["Category"]["properties"]["slug"]

    assert breaking_changes(tree, tree) == []
    assert breaking_changes(tree, smaller) == ["slug: property removed"]


def test_external_references_are_refused() -> None:
    schema = _obj({"x": {"$ref": "https://example.com/x.json"}})
    with pytest.raises(ValueError, match="only local references"):
        breaking_changes(schema, schema)


def _real_schema(name: str) -> dict[str, Any]:
    path = default_out_dir() / "schemas" / f"{name}.json"
    schema: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return schema


def test_generated_schemas_are_compatible_with_themselves() -> None:
    for path in sorted((default_out_dir() / "schemas").glob("*.json")):
        schema = json.loads(path.read_text("utf-8"))
        assert breaking_changes(schema, copy.deepcopy(schema)) == [], path.name


def test_a_real_schema_change_is_found_deep_inside_the_envelope() -> None:
    old = _real_schema("ru.vitrina.catalog.product.published")
    new = copy.deepcopy(old)
    del new["$defs"]["PlanSnapshot"]["properties"]["unit_price"]
    new["$defs"]["PlanSnapshot"]["properties"]["pricing_unit"]["enum"].remove("gb")
    new["properties"]["specversion"]["const"] = "2.0"

    assert sorted(breaking_changes(old, new)) == [
        "data.product.plans[].pricing_unit: enum narrowed: 'gb' no longer allowed",
        "data.product.plans[].unit_price: property removed",
        "specversion: const changed from '1.0' to '2.0'",
    ]
