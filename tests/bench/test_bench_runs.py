"""The benchmarks keep working (their figures are read from bench/results, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"

pytestmark = pytest.mark.slow


def test_the_benchmarks_run_and_report_ratios(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--results", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    names = [result["benchmark"] for result in summary["results"]]
    assert names == ["outbox_relay", "consumer"]
    for result in summary["results"]:
        assert result["floor"]["msgs_per_s"] > 0
        assert result["measured"]["msgs_per_s"] > 0
        assert result["ratio"] == pytest.approx(
            result["measured"]["msgs_per_s"] / result["floor"]["msgs_per_s"], rel=0.01
        )
    assert "| outbox_relay" in (tmp_path / "summary.md").read_text()
