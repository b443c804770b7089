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
from datetime import UTC, datetime
from pathlib import Path

import consumer
import outbox_relay

RESULTS = Path(__file__).parent / "results"


async def run_all(quick: bool) -> list[dict[str, object]]:
    rounds = 1 if quick else 3
    return [
        await outbox_relay.main(messages=5_000 if quick else 20_000, rounds=rounds),
        await consumer.main(messages=1_000 if quick else 5_000, rounds=rounds),
    ]


def markdown(results: list[dict[str, object]]) -> str:
    lines = [
        "| benchmark | floor | floor msg/s | measured | measured msg/s | ratio |",
        "|---|---|---:|---|---:|---:|",
    ]
    for result in results:
        floor, measured = result["floor"], result["measured"]
        assert isinstance(floor, dict)
        assert isinstance(measured, dict)
        lines.append(
            f"| {result['benchmark']} ({result['messages']} msgs, median of {result['rounds']}) "
            f"| {floor['name']} | {floor['msgs_per_s']} | {measured['name']} "
            f"| {measured['msgs_per_s']} | {result['ratio']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer messages, one round")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.quick))
    summary = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "results": results,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.results / "summary.md").write_text(markdown(results))
    print(markdown(results))
