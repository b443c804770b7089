"""The local stack's demo clock, from the outside: which stack runs on it and who follows it
(``vitrina dev --demo-clock`` writes it down), reading the times people type, and waiting until
every process tells the time it was moved to. The commands are ``vitrina time set``, ``forward``
and ``show`` (``vitrina_cli.ops``); the clock itself is ``vitrina_kit.local.clock``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

from vitrina_cli.workspace import DEMO_CLOCK_STACK_FILE, LOCK_FILE
from vitrina_kit.local.clock import DemoClock

TOLD_WITHIN = dt.timedelta(seconds=60)
"""How close a process's ``Date`` header must be to the clock: it has whole seconds, a move
is days."""


class NoDemoClock(RuntimeError):
    """No stack runs on the demo clock here; the message says how to get one."""


@dataclass(frozen=True)
class StackClock:
    """A running stack's demo clock: its file, where to ask orders to apply what came due, and
    every process that follows the clock (name -> a URL it answers, with a ``Date`` header)."""

    clock_file: Path
    identity_url: str
    orders_url: str
    followers: dict[str, str]

    @property
    def clock(self) -> DemoClock:
        return DemoClock(self.clock_file)

    def save(self, path: Path) -> None:
        body = {
            "clock_file": str(self.clock_file),
            "identity_url": self.identity_url,
            "orders_url": self.orders_url,
            "followers": self.followers,
        }
        staging = path.with_name(path.name + ".new")
        staging.write_text(json.dumps(body, indent=2) + "\n", "utf-8")
        staging.replace(path)

    @classmethod
    def load(cls, path: Path) -> StackClock:
        body = json.loads(path.read_text("utf-8"))
        return cls(
            clock_file=Path(body["clock_file"]),
            identity_url=body["identity_url"],
            orders_url=body["orders_url"],
            followers=dict(body["followers"]),
        )


def running_clock(data_dir: Path) -> StackClock:
    """The demo clock of the ``vitrina dev`` running on ``data_dir``, or :class:`NoDemoClock`
    saying why there is none."""
    enable = "start it with `./vitrina dev --demo-clock`"
    if not stack_running(data_dir):
        raise NoDemoClock(
            f"no `vitrina dev` runs on {data_dir}: {enable} (another --data-dir? give it here too)"
        )
    try:
        return StackClock.load(data_dir / DEMO_CLOCK_STACK_FILE)
    except (OSError, ValueError, KeyError):
        raise NoDemoClock(
            f"the `vitrina dev` running on {data_dir} lives on the real time: restart it as "
            "`./vitrina dev --demo-clock` to move its clock (`vitrina time advance` moves only "
            "orders' subscriptions, on any stack)"
        ) from None


def stack_running(data_dir: Path) -> bool:
    """Whether a ``vitrina dev`` holds ``data_dir``'s lock (a stack killed hard holds none)."""
    try:
        lock = open(data_dir / LOCK_FILE)  # noqa: SIM115 - closed below, whatever happens
    except FileNotFoundError:
        return False
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


# -- what people type -----------------------------------------------------------------------

_DURATION = re.compile(r"(\d+)\s*(w|d|h|m|s)", re.IGNORECASE)
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_instant(text: str) -> dt.datetime:
    """An ISO date (midnight) or date and time; without a zone, this machine's (as a person
    would mean it). Raises ``ValueError``."""
    moment = dt.datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo is not None else moment.astimezone()


def parse_duration(text: str) -> dt.timedelta:
    """``3d``, ``12h``, ``1d12h``, ``2w``, ``90m``, ``30s``. Raises ``ValueError``."""
    compact = text.strip()
    parts = _DURATION.findall(compact)
    if not parts or _DURATION.sub("", compact).strip():
        raise ValueError(f"{text!r} is not a duration like 3d, 12h, 1d12h, 2w or 90m")
    delta = dt.timedelta()
    for amount, unit in parts:
        delta += dt.timedelta(**{_UNITS[unit.lower()]: int(amount)})
    return delta


def describe_offset(offset: dt.timedelta) -> str:
    """``9 d 23 h ahead of the real time``, ``at the real time``, ``2 h behind …``."""
    seconds = abs(offset.total_seconds())
    if seconds < 60:
        return "at the real time"
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    if not days:
        parts.append(f"{minutes} min" if minutes else "")
    side = "ahead of" if offset > dt.timedelta(0) else "behind"
    return f"{' '.join(p for p in parts if p)} {side} the real time"


# -- waiting for the processes --------------------------------------------------------------


def wait_until_followed(
    clock: DemoClock, followers: dict[str, str], *, timeout: float = 10.0
) -> dict[str, str]:
    """Wait until every follower's ``Date`` header tells the clock's time (they look at the
    file every 50 ms; uvicorn's header is renewed every second). Returns those that did not
    within ``timeout``, each with why."""
    waiting = dict(followers)
    why: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as http:
        while waiting:
            for name, url in list(waiting.items()):
                told = _date_told(http, url)
                if isinstance(told, str):
                    why[name] = told
                elif abs(told - clock.now()) <= TOLD_WITHIN:
                    del waiting[name]
                    why.pop(name, None)
                else:
                    why[name] = f"still tells {told:%Y-%m-%d %H:%M:%S} UTC"
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return {name: why[name] for name in waiting}


def _date_told(http: httpx.Client, url: str) -> dt.datetime | str:
    """The time ``url``'s answer tells, or why there is none."""
    try:
        answer = http.get(url)
    except httpx.TransportError as error:
        return f"does not answer at {url} ({str(error) or type(error).__name__})"
    with contextlib.suppress(KeyError, TypeError, ValueError):
        return parsedate_to_datetime(answer.headers["date"])
    return f"tells no time at {url}"
