"""Render the JSON Schemas and the AsyncAPI document from the models, and write them.

Output is deterministic (sorted keys, stable order, a trailing newline), so a diff of the
generated files is exactly the change in the contract.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vitrina_contracts.asyncapi import asyncapi_document
from vitrina_contracts.check import (
    Incompatibility,
    disk_baselines,
    find_incompatibilities,
    stale_schemas,
)
from vitrina_contracts.layout import ASYNCAPI, ENVELOPE_SCHEMA, event_schema_path
from vitrina_contracts.registry import TOPICS
from vitrina_contracts.schemas import GENERATED, envelope_schema, event_schema


def render_files() -> dict[str, str]:
    """Every generated file: relative path -> text, in path order."""
    files = {ENVELOPE_SCHEMA: _json(envelope_schema())}
    for topic in TOPICS:
        for event in topic.events:
            files[event_schema_path(event.event_type)] = _json(event_schema(event))
    files[ASYNCAPI] = f"# {GENERATED}\n" + yaml.safe_dump(
        asyncapi_document(), sort_keys=True, allow_unicode=True, width=120
    )
    return dict(sorted(files.items()))


@dataclass(frozen=True)
class GenerateResult:
    """What ``generate`` did: the files it changed, or why it refused."""

    changed: tuple[str, ...]
    incompatibilities: tuple[Incompatibility, ...]
    refused: bool


def generate(
    out_dir: Path, *, allow_breaking: bool = False, files: Mapping[str, str] | None = None
) -> GenerateResult:
    """Write the generated files into ``out_dir``, unless they break the schemas on disk.

    A schema incompatible with the one on disk (or the removal of one) makes it refuse and
    write nothing, unless ``allow_breaking``. ``files`` defaults to ``render_files()``.
    """
    files = render_files() if files is None else files
    incompatibilities = tuple(find_incompatibilities(files, disk_baselines(out_dir, files)))
    if incompatibilities and not allow_breaking:
        return GenerateResult(changed=(), incompatibilities=incompatibilities, refused=True)
    return GenerateResult(
        changed=tuple(write_files(out_dir, files)),
        incompatibilities=incompatibilities,
        refused=False,
    )


def write_files(out_dir: Path, files: Mapping[str, str]) -> list[str]:
    """Write ``files`` under ``out_dir`` and delete stale schemas; return what changed."""
    changed = []
    for path, text in files.items():
        target = out_dir / path
        if target.is_file() and target.read_text("utf-8") == text:
            continue  # leave untouched files alone (and their timestamps)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8", newline="\n")
        changed.append(path)
    for path in stale_schemas(out_dir, files):
        (out_dir / path).unlink()
        changed.append(path)
    return sorted(changed)


def _json(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
