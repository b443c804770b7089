"""The project's whole check, in the order a failure is cheapest to find: lint, format, types,
contracts, then the test suite."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vitrina_cli.workspace import source_dirs

PYTEST_NO_TESTS = 5


@dataclass(frozen=True)
class Check:
    name: str
    argv: list[str]

    @property
    def command_line(self) -> str:
        return " ".join(Path(self.argv[0]).name if i == 0 else a for i, a in enumerate(self.argv))


@dataclass(frozen=True)
class CheckFailed:
    check: Check
    returncode: int

    @property
    def message(self) -> str:
        if self.check.name == "pytest" and self.returncode == PYTEST_NO_TESTS:
            return "pytest ran no tests"
        return f"step '{self.check.name}' failed (exit status {self.returncode})"


def tool(name: str) -> str:
    """A console script installed beside the running interpreter (the project's environment)."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    raise FileNotFoundError(f"{name} is not installed in {sys.prefix}; run ./vitrina to install it")


def project_checks(root: Path, pytest_args: Sequence[str] = ()) -> list[Check]:
    """Every step of ``vitrina test``; ``pytest_args`` replace pytest's default (the suite)."""
    sources = source_dirs(root)
    return [
        Check("ruff check", [tool("ruff"), "check", "."]),
        Check("ruff format", [tool("ruff"), "format", "--check", "."]),
        # Every src folder named explicitly (the root config's mypy_path makes each a package
        # root), so a new package is checked without anyone remembering to add it.
        Check("mypy", [tool("mypy"), *map(str, sources)]),
        Check("contracts", [tool("vitrina-contracts"), "check"]),
        Check("pytest", [tool("pytest"), *pytest_args]),
    ]


def run_checks(
    checks: Sequence[Check],
    *,
    root: Path,
    announce: Callable[[Check], None] = lambda _check: None,
) -> CheckFailed | None:
    """Run ``checks`` in order from ``root``; stop at the first that fails and return it."""
    for check in checks:
        announce(check)
        result = subprocess.run(check.argv, cwd=root, env=_environment(), check=False)
        if result.returncode != 0:
            return CheckFailed(check, result.returncode)
    return None


def _environment() -> dict[str, str]:
    """This process's environment, with its interpreter's scripts first on PATH: tests that
    start ``vitrina`` or ``python -m`` find this environment's even when it is not activated."""
    scripts = sysconfig.get_path("scripts")
    return {**os.environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}


def elapsed_since(started: float) -> str:
    seconds = time.monotonic() - started
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
