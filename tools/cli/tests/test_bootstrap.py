"""The ./vitrina bootstrap: it installs when what decides the install changed, and only then."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from vitrina_cli.workspace import repo_root


@pytest.fixture
def bootstrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script, loaded as a module and pointed at a small repository in ``tmp_path``."""
    path = repo_root() / "vitrina"
    loader = importlib.machinery.SourceFileLoader("vitrina_bootstrap", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    repo = tmp_path / "repo"
    for folder in ("contracts", "services/orders", ".venv/lib/site", "node_modules/x"):
        (repo / folder).mkdir(parents=True)
        (repo / folder / "pyproject.toml").write_text(f"# {folder}\n")
    (repo / "requirements-dev.txt").write_text("-e ./contracts\n")
    monkeypatch.setattr(module, "ROOT", repo)
    monkeypatch.setattr(module, "REQUIREMENTS", repo / "requirements-dev.txt")
    monkeypatch.setattr(module, "CONSTRAINTS", repo / "constraints.txt")
    return module


def test_the_fingerprint_covers_requirements_constraints_and_every_pyproject(
    bootstrap: ModuleType,
) -> None:
    root: Path = bootstrap.ROOT
    seen = {bootstrap.install_fingerprint()}
    (root / "tools/cli").mkdir(parents=True)

    for path, text in (
        ("services/orders/pyproject.toml", "dependencies = ['x']\n"),
        ("requirements-dev.txt", "-e ./contracts\nruff\n"),
        ("constraints.txt", "ruff==0.1\n"),
        ("tools/cli/pyproject.toml", "# a new package\n"),
    ):
        (root / path).write_text(text)
        seen.add(bootstrap.install_fingerprint())

    assert len(seen) == 5


def test_the_fingerprint_ignores_environments_and_node_modules(bootstrap: ModuleType) -> None:
    before = bootstrap.install_fingerprint()

    (bootstrap.ROOT / ".venv/lib/site/pyproject.toml").write_text("changed")
    (bootstrap.ROOT / "node_modules/x/pyproject.toml").write_text("changed")

    assert bootstrap.install_fingerprint() == before


def test_installs_once_and_again_only_after_a_change(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installs: list[Path] = []

    def fake_run(command: list[str], cwd: Path | None = None) -> None:
        assert command[:3] == [sys.executable, "-m", "venv"]
        python = bootstrap.python_of(Path(command[3]))
        python.parent.mkdir(parents=True)
        python.write_text("")

    monkeypatch.setattr(bootstrap, "run", fake_run)
    monkeypatch.setattr(bootstrap, "install", installs.append)
    venv = tmp_path / "env"

    bootstrap.ensure_environment(venv)
    bootstrap.ensure_environment(venv)
    assert installs == [venv]

    (bootstrap.ROOT / "contracts/pyproject.toml").write_text("version = '0.2'\n")
    bootstrap.ensure_environment(venv)
    bootstrap.ensure_environment(venv)
    assert installs == [venv, venv]


def test_a_failed_install_is_tried_again_next_time(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "env"
    bootstrap.python_of(venv).parent.mkdir(parents=True)
    bootstrap.python_of(venv).write_text("")
    attempts: list[Path] = []

    def failing_install(target: Path) -> None:
        attempts.append(target)
        raise bootstrap.subprocess.CalledProcessError(1, ["uv", "pip", "install"])

    monkeypatch.setattr(bootstrap, "install", failing_install)
    for _ in range(2):
        with pytest.raises(bootstrap.subprocess.CalledProcessError):
            bootstrap.ensure_environment(venv)

    assert len(attempts) == 2
