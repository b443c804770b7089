"""The demo clock, inside a process: Python imports ``sitecustomize`` at start-up, before any
service code asks the time. Active only when this directory is on ``PYTHONPATH`` *and*
``VITRINA_DEMO_CLOCK_FILE`` names the clock file (:mod:`vitrina_kit.local.clock` sets both for
``vitrina dev --demo-clock`` and the tests; nothing else does).

Self-contained on purpose (the standard library and time-machine only): importing the kit here
would cost every process a second of imports before it starts.

The file holds an ISO 8601 instant: the time it was when the file was written (its mtime), so
every process reading it agrees, however late it starts. The clock ticks on at the real pace,
and jumps when the file's text changes (the same instant written again is no move: a test may
write it to make sure, long after the processes started ticking from it). Only the wall clock
moves (``time.time``, ``datetime.now``, ``date.today`` and their relatives, through
time-machine); ``time.monotonic`` stays real, so timeouts, event loops and the broker client's
timers are untouched.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from datetime import datetime, timedelta

CLOCK_FILE_ENV = "VITRINA_DEMO_CLOCK_FILE"
POLL_SECONDS = 0.05

Reading = tuple[int, str]
"""(the file's mtime in ns, its text)."""


def _read(path: str) -> Reading:
    with open(path, encoding="utf-8") as file:
        return os.fstat(file.fileno()).st_mtime_ns, file.read().strip()


def _now(reading: Reading, real_now_ns: int) -> datetime:
    """The clock's time at ``real_now_ns``: the instant written, plus the time since."""
    written_ns, text = reading
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        instant = instant.astimezone()  # this machine's zone, as a person would mean it
    return instant + timedelta(microseconds=(real_now_ns - written_ns) // 1000)


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _follow(path: str) -> None:
    try:
        import time_machine
    except ImportError:
        _say(f"{CLOCK_FILE_ENV} is set but time-machine is not installed: refusing to start")
        os._exit(2)
    try:
        reading = _read(path)
        start = _now(reading, time.time_ns())
    except (OSError, ValueError) as error:
        _say(f"{CLOCK_FILE_ENV}={path}: cannot read the demo clock ({error}): refusing to start")
        os._exit(2)
    real = datetime.now().astimezone()
    coordinates = time_machine.travel(start, tick=True).start()
    rule = "!" * 96
    _say(
        f"{rule}\n"
        "!! DEMO CLOCK: this process's wall clock is shifted (demos and tests only, never "
        "production)\n"
        f"!!   it is {start.isoformat(timespec='seconds')} here, "
        f"{real.isoformat(timespec='seconds')} on this machine\n"
        f"!!   it follows {path} ({CLOCK_FILE_ENV})\n"
        f"{rule}"
    )

    def watch() -> None:
        nonlocal reading
        while True:
            time.sleep(POLL_SECONDS)
            try:
                wanted = _read(path)
                if wanted[1] == reading[1] or not wanted[1]:
                    continue
                moved = _now(wanted, time_machine.escape_hatch.time.time_ns())
            except (OSError, ValueError):
                continue  # half-written by hand, or being replaced: the next look will do
            coordinates.move_to(moved)
            reading = wanted
            # Through logging: by now the service has configured it (JSON lines, its log).
            logging.getLogger("vitrina_kit.demo_clock").warning(
                "DEMO CLOCK moved: it is %s here now", moved.isoformat(timespec="seconds")
            )

    threading.Thread(target=watch, name="demo-clock", daemon=True).start()


_path = os.environ.get(CLOCK_FILE_ENV)
if _path:
    _follow(_path)
