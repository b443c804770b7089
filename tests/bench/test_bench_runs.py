"""The benchmarks keep working (their figures are read from bench/results, never asserted).

Each script runs end to end at a tiny size, in a process of its own (as ``bench/run.py``
imports them: by plain module name from ``bench/``); the whole suite at its quick size is
``python bench/run.py --quick``, too slow for a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).parents[2] / "bench"

pytestmark = pytest.mark.slow


def run_script(*argv: str, timeout: float = 120) -> Any:
    completed = subprocess.run(
        [sys.executable, *argv],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def assert_ratio(result: dict[str, Any], unit: str) -> None:
    assert result["floor"][unit] > 0
    assert result["measured"][unit] > 0
    assert result["ratio"] == pytest.approx(
        result["measured"][unit] / result["floor"][unit], rel=0.01
    )


def test_a_service_consumer_against_the_bare_loop() -> None:
    results = run_script("consumer.py", "--messages", "50", "--rounds", "1", "--cases", "catalog")
    assert [r["benchmark"] for r in results] == ["consumer.catalog"]
    assert_ratio(results[0], "msgs_per_s")


def test_placing_orders_with_and_without_instrumentation() -> None:
    results = run_script(
        "orders_place.py", "--requests", "8", "--concurrency", "2", "--rounds", "1",
        "--products", "4",
    )  # fmt: skip
    assert [r["benchmark"] for r in results] == ["orders_place", "orders_place.instrumentation"]
    for result in results:
        assert_ratio(result, "requests_per_s")
        for side in (result["floor"], result["measured"]):
            assert 0 < side["p50_ms"] <= side["p99_ms"]
    variants = results[1]["variants"]
    assert set(variants) == {"deployed", "exporting", "tracing_off", "all_off"}
    assert results[1]["otlp_exports"] > 0  # the exporting API's spans reached the sink


def test_order_to_invoice_latency_at_a_fixed_rate() -> None:
    result = run_script(
        "order_to_invoice.py", "--rate", "20", "--seconds", "0.5", "--rounds", "1",
        "--timeout", "60",
    )  # fmt: skip
    assert result["orders"] == 10
    for side in (result["floor"], result["measured"]):
        assert 0 < side["p50_ms"] <= side["p99_ms"]
        assert side["arrived_per_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["floor"]["p50_ms"] / result["measured"]["p50_ms"], rel=0.01
    )


def test_the_summary_has_a_table_for_every_kind_of_result() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import run  # type: ignore[import-not-found,unused-ignore]
    finally:
        sys.path.remove(str(BENCH))
    floor = {"name": "floor"}
    results = [
        {"benchmark": "consumer.billing", "messages": 1, "rounds": 1, "ratio": 0.5,
         "floor": {**floor, "msgs_per_s": 2}, "measured": {**floor, "msgs_per_s": 1}},
        {"benchmark": "orders_place", "products": 1, "requests": 1, "concurrency": 32,
         "rounds": 1, "ratio": 0.5,
         "floor": {**floor, "requests_per_s": 2, "p50_ms": 1, "p99_ms": 2},
         "measured": {**floor, "requests_per_s": 1, "p50_ms": 2, "p99_ms": 3}},
        {"benchmark": "billing_close", "subscriptions": 1, "customers": 1, "rounds": 1,
         "ratio": 0.5, "floor": {**floor, "subscriptions_per_s": 2},
         "measured": {**floor, "subscriptions_per_s": 1, "seconds": 1}},
        {"benchmark": "order_to_invoice", "rate_per_s": 100, "seconds": 30, "rounds": 1,
         "ratio": 0.5, "ratio_p99": 0.25,
         "floor": {**floor, "p50_ms": 1, "p99_ms": 2, "arrived_per_s": 100},
         "measured": {**floor, "p50_ms": 2, "p99_ms": 8, "arrived_per_s": 99}},
    ]  # fmt: skip
    table = run.markdown(results)
    for result in results:
        assert f"| {result['benchmark']} (" in table
