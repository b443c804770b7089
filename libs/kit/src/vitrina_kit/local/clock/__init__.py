"""The demo clock: a wall clock for the local stack's processes that a person (or a test) moves.

Why: orders, billing and integrations read the real time (``datetime.now(UTC)``), and billing
closes only months that are over — so a demo or a test that wants the month-end (the period
close, the UPD, its signature, the sale in 1C, the partner's settlement) has to live through a
month. With the demo clock the processes live on a calendar of their own, moved forward on
demand; nothing in the services is changed or bypassed.

How: a file holds an ISO 8601 instant, the time it was when the file was written. A process
started with :func:`process_env` reads it at start-up (``site/sitecustomize.py``, through
time-machine), ticks on from it at the real pace and jumps when the instant in the file changes
(written again unchanged, it is no move). Move it forward only: services date what they make by
it (identity's signing keys sign from the time they were made, and none would sign if the clock
went back past it). Only the wall
clock moves; ``time.monotonic`` stays real (timeouts, event loops and timers are untouched), and
PostgreSQL's own ``now()`` (a few ``created_at`` defaults) stays real too.

Never by accident in production: a process follows the clock only when both the variable
``VITRINA_DEMO_CLOCK_FILE`` is set and the ``site`` folder inside this package is on its
``PYTHONPATH``; it then writes a loud banner to stderr at start (and a line at every jump), and
refuses to start if the file cannot be read or time-machine (a development dependency) is
missing.

    clock = DemoClock(data_dir / "demo-clock")
    clock.set(datetime(2026, 11, 30, 12, tzinfo=MSK))
    subprocess.Popen([...], env={**os.environ, **process_env(clock.path)})
    clock.advance(timedelta(days=1))
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

CLOCK_FILE_ENV = "VITRINA_DEMO_CLOCK_FILE"
"""The variable naming the clock file; a process follows the clock only when it is set."""

SITE_DIR = Path(__file__).parent / "site"
"""The folder with the ``sitecustomize`` that makes a process follow the clock; goes first on
``PYTHONPATH`` (:func:`process_env`)."""


def read_clock(path: Path) -> datetime:
    """The time on the clock ``path`` holds, now: the instant written, plus the time since the
    file was written. Raises ``OSError`` if there is no such file, ``ValueError`` if it does not
    hold an ISO 8601 instant."""
    with open(path, encoding="utf-8") as file:
        written_ns = os.fstat(file.fileno()).st_mtime_ns
        text = file.read().strip()
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        instant = instant.astimezone()  # as the processes read it: this machine's zone
    return instant + timedelta(microseconds=(time.time_ns() - written_ns) // 1000)


def write_clock(path: Path, instant: datetime) -> None:
    """Set the clock ``path`` to ``instant`` (timezone-aware), as of now.

    Written aside and renamed into place: a process never reads half a line.
    """
    if instant.tzinfo is None:
        raise ValueError("the demo clock takes a timezone-aware instant")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".new")
    staging.write_text(instant.isoformat() + "\n", encoding="utf-8")
    os.replace(staging, path)


def process_env(path: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a child process needs to follow the clock ``path``: ``CLOCK_FILE_ENV`` and
    ``PYTHONPATH`` with :data:`SITE_DIR` first (``env``'s own ``PYTHONPATH``, ``os.environ``'s by
    default, kept after it). Merge them into the child's environment."""
    source = os.environ if env is None else env
    python_path = os.pathsep.join(filter(None, [str(SITE_DIR), source.get("PYTHONPATH")]))
    return {CLOCK_FILE_ENV: str(path), "PYTHONPATH": python_path}


def time_machine_available() -> bool:
    """Whether the processes could follow a clock (time-machine is a development dependency)."""
    try:
        import time_machine  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class DemoClock:
    """The clock in the file ``path``: what time it shows, and moving it."""

    path: Path

    def exists(self) -> bool:
        return self.path.is_file()

    def now(self) -> datetime:
        """The clock's time now (see :func:`read_clock`)."""
        return read_clock(self.path)

    def set(self, instant: datetime) -> datetime:
        """Put the clock at ``instant`` (timezone-aware); returns it. Forward only, with
        services following it (see the module's docstring)."""
        write_clock(self.path, instant)
        return instant

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock by ``delta`` from where it is now; returns the new time."""
        return self.set(self.now() + delta)

    def reset(self) -> datetime:
        """Put the clock at the real time."""
        return self.set(datetime.now(UTC))

    def offset(self) -> timedelta:
        """How far the clock is ahead of the real time (negative: behind)."""
        return self.now() - datetime.now(UTC)


__all__ = [
    "CLOCK_FILE_ENV",
    "SITE_DIR",
    "DemoClock",
    "process_env",
    "read_clock",
    "time_machine_available",
    "write_clock",
]
