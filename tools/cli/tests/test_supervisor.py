"""Child processes: a death is noticed, and stopping leaves nothing behind — grandchildren and
children that ignore SIGTERM included."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from vitrina_cli.supervisor import ChildFailed, Supervisor

SPAWNS_A_GRANDCHILD = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("started", flush=True)
time.sleep(60)
"""

IGNORES_SIGTERM = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("stubborn", flush=True)
time.sleep(60)
"""


def _wait_for_line(path: Path, text: str) -> None:
    deadline = time.monotonic() + 10
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}"
        time.sleep(0.02)


def test_stop_ends_children_and_their_children(tmp_path: Path) -> None:
    supervisor = Supervisor()
    child = supervisor.spawn(
        "parent",
        [sys.executable, "-c", SPAWNS_A_GRANDCHILD],
        env=dict(os.environ),
        log_path=tmp_path / "parent.log",
    )
    _wait_for_line(child.log_path, "started")
    family = [psutil.Process(child.pid), *psutil.Process(child.pid).children(recursive=True)]
    assert len(family) == 2

    supervisor.stop(timeout=5)

    _, alive = psutil.wait_procs(family, timeout=5)
    assert alive == []
    assert supervisor.children == []


def test_stop_kills_what_ignores_sigterm_after_the_timeout(tmp_path: Path) -> None:
    supervisor = Supervisor()
    child = supervisor.spawn(
        "stubborn",
        [sys.executable, "-c", IGNORES_SIGTERM],
        env=dict(os.environ),
        log_path=tmp_path / "stubborn.log",
    )
    _wait_for_line(child.log_path, "stubborn")

    started = time.monotonic()
    supervisor.stop(timeout=0.5)

    assert child.process.returncode == -9
    assert time.monotonic() - started < 5


def test_a_death_is_noticed_with_the_childs_last_words(tmp_path: Path) -> None:
    supervisor = Supervisor()
    supervisor.spawn(
        "steady",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env=dict(os.environ),
        log_path=tmp_path / "steady.log",
    )
    dying = supervisor.spawn(
        "dying",
        [sys.executable, "-c", "print('line 1'); print('cannot bind the port'); exit(3)"],
        env=dict(os.environ),
        log_path=tmp_path / "dying.log",
    )
    try:
        assert supervisor.watch() is dying
        assert dying.returncode == 3
        assert dying.tail(1) == ["cannot bind the port"]
        with pytest.raises(ChildFailed, match="dying exited unexpectedly"):
            supervisor.check()
    finally:
        supervisor.stop(timeout=5)
