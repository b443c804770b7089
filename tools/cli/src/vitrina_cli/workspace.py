"""Where the repository is, and what lives in it."""

from __future__ import annotations

import os
from pathlib import Path

SERVICES = ("identity", "catalog", "orders", "billing", "integrations")
"""Every service, in start-up and port order: ``--base-port`` + index is its HTTP port."""

BOOTSTRAP_SERVERS_FILE = "bootstrap-servers"
"""In ``vitrina dev``'s data directory while it runs: its broker's address, for ``vitrina lag``
(the embedded broker listens on a port picked at start)."""

LOCK_FILE = ".lock"
"""In ``vitrina dev``'s data directory: locked (``flock``) while a stack runs on it."""

DEMO_CLOCK_FILE = "demo-clock"
"""In the data directory: the clock of ``vitrina dev --demo-clock`` (``vitrina_kit.local.clock``).
Kept across runs, so the demo's calendar does not go back on a restart (``--fresh`` resets it)."""

DEMO_CLOCK_STACK_FILE = "demo-clock.stack.json"
"""In the data directory while a stack runs with the demo clock: the clock's file and the
processes that follow it, for ``vitrina time set``, ``forward`` and ``show``."""


def repo_root() -> Path:
    """The repository this command works on.

    ``VITRINA_ROOT`` (set by the ``./vitrina`` bootstrap) wins; otherwise the nearest folder above
    the working directory that holds ``services/`` and ``contracts/``; otherwise the checkout this
    package is installed from (it is installed editable).
    """
    configured = os.environ.get("VITRINA_ROOT")
    if configured:
        return Path(configured).resolve()
    for folder in (Path.cwd(), *Path.cwd().parents):
        if _is_repo(folder):
            return folder
    installed_from = Path(__file__).resolve().parents[4]
    if _is_repo(installed_from):
        return installed_from
    raise RuntimeError("cannot find the Vitrina repository: run from inside it or set VITRINA_ROOT")


def _is_repo(folder: Path) -> bool:
    return (folder / "services").is_dir() and (folder / "contracts").is_dir()


def source_dirs(root: Path) -> list[Path]:
    """Every package's ``src`` folder, relative to ``root``: what ``mypy`` checks."""
    patterns = ("contracts/src", "libs/*/src", "services/*/src", "tools/*/src")
    found: list[Path] = []
    for pattern in patterns:
        found.extend(sorted(path.relative_to(root) for path in root.glob(pattern) if path.is_dir()))
    return found
