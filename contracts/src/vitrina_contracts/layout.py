"""Where the generated files go, relative to the output directory (``contracts/`` by default)."""

from __future__ import annotations

from pathlib import Path

SCHEMAS_DIR = "schemas"
ENVELOPE_SCHEMA = f"{SCHEMAS_DIR}/cloudevent.json"
ASYNCAPI = "asyncapi.yaml"


def event_schema_path(event_type: str) -> str:
    """The schema file of ``event_type``, relative to the output directory."""
    return f"{SCHEMAS_DIR}/{event_type}.json"


def default_out_dir() -> Path:
    """The ``contracts/`` directory of the source checkout this package runs from.

    Raises:
        LookupError: the package is installed from a wheel, away from its sources; pass an
            explicit output directory then.
    """
    # src/vitrina_contracts/layout.py -> contracts/
    candidate = Path(__file__).resolve().parents[2]
    pyproject = candidate / "pyproject.toml"
    if pyproject.is_file() and 'name = "vitrina-contracts"' in pyproject.read_text("utf-8"):
        return candidate
    raise LookupError(
        "vitrina_contracts is not running from its source checkout (an editable install); "
        "pass --out DIR"
    )
