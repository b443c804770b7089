"""The benchmarks keep working (their figures are read from bench/results, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"

pytestmark = pytest.mark.slow

STOREFRONT = [
    "catalog_browse.newest",
    "catalog_browse.category_price",
    "catalog_browse.next_page",
    "catalog_browse.search_common",
    "catalog_browse.search_two_words",
    "catalog_browse.product_page",
]


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
    assert names == ["outbox_relay", "consumer", *STOREFRONT, "orders_place", "billing_close"]
    for result in summary["results"]:
        unit = next(
            unit
            for unit in ("msgs_per_s", "subscriptions_per_s", "requests_per_s")
            if unit in result["floor"]
        )
        assert result["floor"][unit] > 0
        assert result["measured"][unit] > 0
        assert result["ratio"] == pytest.approx(
            result["measured"][unit] / result["floor"][unit], rel=0.01
        )
        if unit == "requests_per_s":
            for side in (result["floor"], result["measured"]):
                assert 0 < side["p50_ms"] <= side["p99_ms"]
    table = (tmp_path / "summary.md").read_text()
    assert "| outbox_relay" in table
    assert "| catalog_browse.search_common" in table
    assert "| orders_place" in table
    assert "| billing_close" in table
