"""`vitrina test`: every step, in order, stopping at the first failure and naming it."""

from __future__ import annotations

import sys
from pathlib import Path

from vitrina_cli.checks import Check, project_checks, run_checks
from vitrina_cli.workspace import repo_root, source_dirs


def test_the_whole_check_in_order_with_every_package_type_checked() -> None:
    root = repo_root()

    checks = project_checks(root, ["-k", "seed", "-x"])

    assert [c.name for c in checks] == ["ruff check", "ruff format", "mypy", "contracts", "pytest"]
    assert checks[0].argv[1:] == ["check", "."]
    assert checks[1].argv[1:] == ["format", "--check", "."]
    mypy_targets = set(checks[2].argv[1:])
    assert {"contracts/src", "libs/kit/src", "tools/cli/src"} <= mypy_targets
    services = {p.name for p in (root / "services").iterdir() if (p / "src").is_dir()}
    assert {f"services/{s}/src" for s in services} <= mypy_targets
    assert checks[3].argv[1:] == ["check"]
    assert checks[4].argv[1:] == ["-k", "seed", "-x"]
    assert all(Path(c.argv[0]).is_file() for c in checks)


def test_source_dirs_are_relative_and_only_packages(tmp_path: Path) -> None:
    for folder in ("contracts/src", "libs/kit/src", "services/a/src", "services/b", "tools/x/src"):
        (tmp_path / folder).mkdir(parents=True)

    assert [str(p) for p in source_dirs(tmp_path)] == [
        "contracts/src",
        "libs/kit/src",
        "services/a/src",
        "tools/x/src",
    ]


def _step(name: str, marker: Path, code: int) -> Check:
    script = f"open({str(marker)!r}, 'a').write({name!r} + '\\n'); raise SystemExit({code})"
    return Check(name, [sys.executable, "-c", script])


def test_the_first_failing_step_stops_the_run_and_is_named(tmp_path: Path) -> None:
    ran = tmp_path / "ran.txt"
    announced: list[str] = []

    failed = run_checks(
        [_step("lint", ran, 0), _step("types", ran, 2), _step("tests", ran, 0)],
        root=tmp_path,
        announce=lambda check: announced.append(check.name),
    )

    assert failed is not None
    assert failed.message == "step 'types' failed (exit status 2)"
    assert ran.read_text().split() == ["lint", "types"]
    assert announced == ["lint", "types"]


def test_all_steps_passing_is_no_failure(tmp_path: Path) -> None:
    ran = tmp_path / "ran.txt"

    assert run_checks([_step("a", ran, 0), _step("b", ran, 0)], root=tmp_path) is None
    assert ran.read_text().split() == ["a", "b"]


def test_pytest_running_no_tests_says_so(tmp_path: Path) -> None:
    failed = run_checks([_step("pytest", tmp_path / "ran.txt", 5)], root=tmp_path)

    assert failed is not None
    assert failed.message == "pytest ran no tests"
