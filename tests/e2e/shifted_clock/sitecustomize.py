"""The marketplace's wall clock for the end-to-end scenario: every service process started with
this directory on ``PYTHONPATH`` and ``VITRINA_E2E_CLOCK_FILE`` set reads its time from there.

Why: orders, billing and integrations read the real time (``datetime.now(UTC)``) and offer no
way to start a subscription in the past, while billing closes only months that are over. To
close a month, the scenario has to live through one, so the processes live in a month of the
past and the test moves their calendar forward — as ``faketime`` would, but portable.

The file holds an ISO 8601 instant; the clock ticks on from it at the real pace, and jumps
when the file changes. Only the wall clock moves (``time.time``, ``datetime.now``, ``date.today``
and their relatives, through time-machine); ``time.monotonic`` stays real, so timeouts, event
loops and the broker client's timers are untouched. Python imports ``sitecustomize`` at start-up,
before any service code asks the time.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime

CLOCK_FILE = os.environ.get("VITRINA_E2E_CLOCK_FILE")
POLL_SECONDS = 0.05


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read().strip()


def _follow(path: str) -> None:
    import time_machine

    current = _read(path)
    traveller = time_machine.travel(datetime.fromisoformat(current), tick=True)
    coordinates = traveller.start()

    def watch() -> None:
        nonlocal current
        while True:
            time.sleep(POLL_SECONDS)
            try:
                wanted = _read(path)
            except OSError:
                continue
            if wanted and wanted != current:
                coordinates.move_to(datetime.fromisoformat(wanted))
                current = wanted

    threading.Thread(target=watch, name="e2e-clock", daemon=True).start()


if CLOCK_FILE:
    _follow(CLOCK_FILE)
