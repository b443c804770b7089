"""Every benchmark in one command; each figure is a ratio against a floor measured in the same
run on the same machine, never an absolute time to compare across machines.

    python bench/run.py [--quick]

Writes ``bench/results/summary.json`` and ``bench/results/summary.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import billing_close
import catalog_browse
import consumer
import order_to_invoice
import orders_place
import outbox_relay

RESULTS = Path(__file__).parent / "results"


def benchmarks(quick: bool) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    """Every benchmark by name, each started only when its turn comes."""
    rounds = 1 if quick else 3
    postgres_url = os.environ.get("VITRINA_BENCH_POSTGRES_URL")
    return [
        (
            "outbox_relay",
            lambda: outbox_relay.main(messages=5_000 if quick else 20_000, rounds=rounds),
        ),
        ("consumer", lambda: consumer.main(messages=300 if quick else 5_000, rounds=rounds)),
        (
            "catalog_browse",
            lambda: catalog_browse.main(
                products=1_000 if quick else 10_000,
                requests=20 if quick else 1_000,
                concurrency=4 if quick else 8,
                rounds=rounds,
                postgres_url=postgres_url,
            ),
        ),
        (
            "orders_place",
            lambda: orders_place.main(
                requests=20 if quick else 2_000,
                concurrency=4 if quick else orders_place.CONCURRENCY,
                rounds=rounds,
                postgres_url=postgres_url,
            ),
        ),
        (
            "billing_close",
            lambda: billing_close.main(
                subscriptions=2_000 if quick else 100_000,
                rounds=rounds,
                postgres_url=postgres_url,
            ),
        ),
        (
            "order_to_invoice",
            lambda: order_to_invoice.main(
                rate=100, seconds=1 if quick else 30, rounds=rounds, timeout=120 if quick else 300
            ),
        ),
    ]


async def run_all(
    quick: bool, written: Callable[[list[dict[str, object]]], None] = lambda _: None
) -> list[dict[str, object]]:
    """Run every benchmark; one that fails is recorded with its error and the others still run,
    and ``written`` gets the results so far after each (a long run keeps what it measured)."""
    results: list[dict[str, object]] = []
    for name, run in benchmarks(quick):
        try:
            outcome = await run()
        except Exception as error:  # a benchmark that breaks is a finding, not the end
            results.append({"benchmark": name, "error": f"{type(error).__name__}: {error}"})
        else:
            produced = outcome if isinstance(outcome, list) else [outcome]
            results.extend(cast(list[dict[str, object]], produced))
        written(results)
    return results


def markdown(results: list[dict[str, object]]) -> str:
    """Throughput benchmarks (msg/s) in one table, latency ones (req/s, p50/p99) in another,
    batch runs (subscriptions/s) in a third, end-to-end latency at a fixed rate in a fourth."""
    failed = [r for r in results if "error" in r]
    results = [r for r in results if "error" not in r]
    throughput = [r for r in results if "msgs_per_s" in _side(r, "floor")]
    latency = [r for r in results if "requests_per_s" in _side(r, "floor")]
    lines: list[str] = []
    if throughput:
        lines += [
            "| benchmark | floor | floor msg/s | measured | measured msg/s | ratio |",
            "|---|---|---:|---|---:|---:|",
        ]
    for result in throughput:
        floor, measured = _side(result, "floor"), _side(result, "measured")
        lines.append(
            f"| {result['benchmark']} ({result['messages']} msgs, median of {result['rounds']}) "
            f"| {floor['name']} | {floor['msgs_per_s']} | {measured['name']} "
            f"| {measured['msgs_per_s']} | {result['ratio']} |"
        )
    if latency:
        lines += [
            *([""] if lines else []),
            "| benchmark | floor | floor req/s | floor p50 / p99 ms | measured | measured req/s "
            "| measured p50 / p99 ms | ratio |",
            "|---|---|---:|---:|---|---:|---:|---:|",
        ]
    for result in latency:
        floor, measured = _side(result, "floor"), _side(result, "measured")
        lines.append(
            f"| {result['benchmark']} ({result['products']} products, {result['requests']} "
            f"requests by {result['concurrency']} clients, median of {result['rounds']}) "
            f"| {floor['name']} | {floor['requests_per_s']} "
            f"| {floor['p50_ms']} / {floor['p99_ms']} | {measured['name']} "
            f"| {measured['requests_per_s']} | {measured['p50_ms']} / {measured['p99_ms']} "
            f"| {result['ratio']} |"
        )
    batch = [r for r in results if "subscriptions_per_s" in _side(r, "floor")]
    if batch:
        lines += [
            *([""] if lines else []),
            "| benchmark | floor | floor subscriptions/s | measured | measured subscriptions/s "
            "| measured s | ratio |",
            "|---|---|---:|---|---:|---:|---:|",
        ]
    for result in batch:
        floor, measured = _side(result, "floor"), _side(result, "measured")
        lines.append(
            f"| {result['benchmark']} ({result['subscriptions']} subscriptions of "
            f"{result['customers']} customers, median of {result['rounds']}) "
            f"| {floor['name']} | {floor['subscriptions_per_s']} | {measured['name']} "
            f"| {measured['subscriptions_per_s']} | {measured['seconds']} | {result['ratio']} |"
        )
    timed = [r for r in results if "arrived_per_s" in _side(r, "floor")]
    if timed:
        lines += [
            *([""] if lines else []),
            "| benchmark | floor | floor p50 / p99 ms | measured | measured p50 / p99 ms "
            "| measured arrived/s | ratio p50 / p99 |",
            "|---|---|---:|---|---:|---:|---:|",
        ]
    for result in timed:
        floor, measured = _side(result, "floor"), _side(result, "measured")
        lines.append(
            f"| {result['benchmark']} ({result['rate_per_s']}/s open loop for "
            f"{result['seconds']} s, median of {result['rounds']}) | {floor['name']} "
            f"| {floor['p50_ms']} / {floor['p99_ms']} | {measured['name']} "
            f"| {measured['p50_ms']} / {measured['p99_ms']} | {measured['arrived_per_s']} "
            f"| {result['ratio']} / {result['ratio_p99']} |"
        )
    if failed:
        lines += [*([""] if lines else []), "| benchmark | failed |", "|---|---|"]
        lines += [f"| {r['benchmark']} | {r['error']} |" for r in failed]
    return "\n".join(lines) + "\n"


def _side(result: dict[str, object], name: str) -> dict[str, object]:
    side = result[name]
    assert isinstance(side, dict)
    return side


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small runs, one round (a smoke test)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write")
    args = parser.parse_args()
    started = datetime.now(UTC).isoformat(timespec="seconds")

    def write(results: list[dict[str, object]]) -> None:
        summary = {
            "measured_at": started,
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "results": results,
        }
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (args.results / "summary.md").write_text(markdown(results))

    results = asyncio.run(run_all(args.quick, write))
    print(markdown(results))
