"""Is a new version of an event's JSON Schema backward compatible with an old one?

Compatible means nobody breaks across the change: consumers of the old schema still find what
they read, with the type they expect, in the new events; and consumers built on the new schema
can still read the old events that remain in the topic. So these are breaking:
- a property removed;
- a property's type changed, its ``format`` or ``pattern`` changed, its ``const`` changed (or
  dropped: a const names what a consumer dispatches on), or it became restricted to an ``enum``;
- an ``enum`` narrowed, or a length/size/number bound tightened (old events would be refused);
- a property newly required (old events lack it).
And these are fine: a new optional property, an ``enum`` widened or dropped, a bound relaxed, a
changed ``title``, ``description``, ``default`` or ``examples``. Consumers ignore fields they do
not know and must treat enums as open, which is what makes the first two safe.

Only local references (``#/$defs/...``) are followed, which is all pydantic generates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Schema = Mapping[str, Any]

# A bound that rises breaks on the lower side, one that falls on the upper side.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")

_JSON_TYPES: tuple[tuple[type, str], ...] = (
    # bool before int: True is an int to Python, a boolean to JSON.
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (type(None), "null"),
    (list, "array"),
    (dict, "object"),
)


def breaking_changes(old_schema: Schema, new_schema: Schema) -> list[str]:
    """Every way ``new_schema`` breaks consumers of ``old_schema``; empty when compatible.

    Each item is ``"<path>: <reason>"``, the path in dotted form (``data.product.plans[].code``;
    ``(root)`` for the document itself).
    """
    return _Comparison(old_schema, new_schema).run()


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.problems: list[str] = []
        # The references being compared further up this branch: recursive models (a tree of
        # categories...) would otherwise recurse forever.
        self._stack: set[tuple[str | None, str | None]] = set()

    def run(self) -> list[str]:
        self.compare(self.old_root, self.new_root, "")
        return self.problems

    def report(self, path: str, reason: str) -> None:
        self.problems.append(f"{path or '(root)'}: {reason}")

    def compare(self, old: Schema, new: Schema, path: str) -> None:
        old, old_ref = _resolve(self.old_root, old)
        new, new_ref = _resolve(self.new_root, new)
        refs = (old_ref, new_ref)
        if refs != (None, None):
            if refs in self._stack:
                return
            self._stack.add(refs)
        try:
            self._compare_resolved(old, new, path)
        finally:
            self._stack.discard(refs)

    def _compare_resolved(self, old: Schema, new: Schema, path: str) -> None:
        old_types = _types(self.old_root, old)
        new_types = _types(self.new_root, new)
        if old_types != new_types:
            self.report(path, f"type changed from {_show(old_types)} to {_show(new_types)}")
            return  # everything below would only repeat it
        if _is_union(old) or _is_union(new):
            self._compare_alternatives(old, new, path)
            return
        self._compare_values(old, new, path)
        self._compare_bounds(old, new, path)
        self._compare_object(old, new, path)
        self._compare_array(old, new, path)

    def _compare_alternatives(self, old: Schema, new: Schema, path: str) -> None:
        # Same overall types (checked before): pair the alternatives by the types each admits,
        # e.g. the object branch of ``X | None`` with the object branch of the new ``X | None``.
        old_groups = _group(self.old_root, old)
        new_groups = _group(self.new_root, new)
        for signature, old_branches in old_groups.items():
            new_branches = new_groups.get(signature, [])
            if len(new_branches) != len(old_branches):
                self.report(
                    path,
                    f"alternatives of type {_show(signature)} changed "
                    f"from {len(old_branches)} to {len(new_branches)}",
                )
                continue
            for old_branch, new_branch in zip(old_branches, new_branches, strict=True):
                self.compare(old_branch, new_branch, path)

    def _compare_values(self, old: Schema, new: Schema, path: str) -> None:
        for keyword in ("format", "pattern"):
            if old.get(keyword) != new.get(keyword):
                self.report(
                    path, f"{keyword} changed from {old.get(keyword)!r} to {new.get(keyword)!r}"
                )
        if "const" in old:
            if new.get("const", _MISSING) != old["const"]:
                now = repr(new["const"]) if "const" in new else "no const"
                self.report(path, f"const changed from {old['const']!r} to {now}")
            return
        old_values = _allowed_values(old)
        new_values = _allowed_values(new)
        if new_values is None:
            return  # unrestricted now: widening is fine
        if old_values is None:
            self.report(path, f"now restricted to {sorted(map(repr, new_values))}")
            return
        removed = [value for value in old_values if value not in new_values]
        if removed:
            self.report(path, f"enum narrowed: {', '.join(map(repr, removed))} no longer allowed")

    def _compare_bounds(self, old: Schema, new: Schema, path: str) -> None:
        for keyword in _LOWER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
                self.report(path, f"{keyword} tightened from {old.get(keyword)} to {new[keyword]}")
        for keyword in _UPPER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
                self.report(path, f"{keyword} tightened from {old.get(keyword)} to {new[keyword]}")

    def _compare_object(self, old: Schema, new: Schema, path: str) -> None:
        old_properties: Schema = old.get("properties", {})
        new_properties: Schema = new.get("properties", {})
        for name, old_property in old_properties.items():
            if name not in new_properties:
                self.report(_child(path, name), "property removed")
            else:
                self.compare(old_property, new_properties[name], _child(path, name))
        old_required = set(old.get("required", ()))
        for name in new.get("required", ()):
            if name in old_required:
                continue
            if name in old_properties:
                self.report(_child(path, name), "property became required")
            else:
                self.report(_child(path, name), "new property is required")
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            self.report(path, "additional properties are no longer allowed")
        elif isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            self.compare(old_extra, new_extra, _child(path, "*"))

    def _compare_array(self, old: Schema, new: Schema, path: str) -> None:
        old_items = old.get("items")
        new_items = new.get("items")
        if isinstance(old_items, Mapping) and isinstance(new_items, Mapping):
            self.compare(old_items, new_items, f"{path}[]")
        old_prefix: Sequence[Schema] = old.get("prefixItems", ())
        new_prefix: Sequence[Schema] = new.get("prefixItems", ())
        if len(new_prefix) < len(old_prefix):
            self.report(path, f"tuple items dropped from {len(old_prefix)} to {len(new_prefix)}")
        for index, (old_item, new_item) in enumerate(zip(old_prefix, new_prefix, strict=False)):
            self.compare(old_item, new_item, f"{path}[{index}]")


_MISSING = object()


def _resolve(root: Schema, node: Schema) -> tuple[Schema, str | None]:
    """``node`` with its local ``$ref`` followed (siblings of ``$ref`` kept); and the ref."""
    ref = node.get("$ref")
    if ref is None:
        return node, None
    seen = {ref}
    target = _pointer(root, ref)
    while "$ref" in target:
        if target["$ref"] in seen:
            raise ValueError(f"$ref cycle through {target['$ref']}")
        seen.add(target["$ref"])
        target = _pointer(root, target["$ref"])
    siblings = {key: value for key, value in node.items() if key != "$ref"}
    return {**target, **siblings}, ref


def _pointer(root: Schema, ref: str) -> Schema:
    if not ref.startswith("#"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    node: Any = root
    for part in ref[1:].split("/")[1:]:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    if not isinstance(node, Mapping):
        raise ValueError(f"{ref!r} does not point at a schema")
    return node


def _types(root: Schema, node: Schema) -> frozenset[str] | None:
    """The JSON types ``node`` (of the document ``root``) admits; None when it admits anything."""
    node, _ = _resolve(root, node)
    declared = node.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(declared)
    if _is_union(node):
        union: set[str] = set()
        for branch in _alternatives(node):
            branch_types = _types(root, branch)
            if branch_types is None:
                return None
            union |= branch_types
        return frozenset(union)
    if "const" in node:
        return frozenset({_json_type(node["const"])})
    if "enum" in node:
        return frozenset(_json_type(value) for value in node["enum"])
    if "properties" in node:
        return frozenset({"object"})
    if "items" in node or "prefixItems" in node:
        return frozenset({"array"})
    return None


def _group(root: Schema, node: Schema) -> dict[frozenset[str] | None, list[Schema]]:
    groups: dict[frozenset[str] | None, list[Schema]] = {}
    for branch in _alternatives(node):
        groups.setdefault(_types(root, branch), []).append(branch)
    return groups


def _is_union(node: Schema) -> bool:
    return "anyOf" in node or "oneOf" in node


def _alternatives(node: Schema) -> list[Schema]:
    # A plain schema is a union of one, so a union on one side pairs with it on the other.
    if not _is_union(node):
        return [node]
    return [*node.get("anyOf", ()), *node.get("oneOf", ())]


def _allowed_values(node: Schema) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    if "enum" in node:
        return list(node["enum"])
    return None


def _json_type(value: Any) -> str:
    for python_type, json_type in _JSON_TYPES:
        if isinstance(value, python_type):
            return json_type
    raise ValueError(f"{value!r} is not a JSON value")


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))
