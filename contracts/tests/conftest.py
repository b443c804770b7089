from __future__ import annotations

from pathlib import Path

import pytest

from vitrina_contracts.generate import generate, render_files


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """What the models generate, rendered once for the session."""
    return render_files()


@pytest.fixture
def out_dir(tmp_path: Path, rendered: dict[str, str]) -> Path:
    """A fresh output directory holding freshly generated files (outside any git repository)."""
    out = tmp_path / "contracts"
    result = generate(out, files=rendered)
    assert not result.refused
    return out
