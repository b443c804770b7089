"""The local stack's child processes: started with their output in log files, watched, stopped.

Each child runs in a session of its own, so Ctrl-C in the terminal reaches only ``vitrina dev``,
which then stops the children in order (services first, infrastructure last) instead of every
process racing to exit at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_POLL_SECONDS = 0.1


@dataclass
class Child:
    """One child process and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def tail(self, lines: int = 40) -> list[str]:
        """The last ``lines`` lines of the child's log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return text.splitlines()[-lines:]


class ChildFailed(RuntimeError):
    """A child exited when it should not have, or with a failure status."""

    def __init__(self, child: Child, what: str) -> None:
        super().__init__(f"{child.name} {what} (exit status {child.returncode})")
        self.child = child
        self.what = what


@dataclass
class Supervisor:
    """Starts children, notices when one dies, and stops them all."""

    children: list[Child] = field(default_factory=list)

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        log_path: Path,
        cwd: Path | None = None,
    ) -> Child:
        """Start ``argv``; its stdout and stderr go to ``log_path``."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                list(argv),
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # Not thread-safe in general; the stack spawns from its main thread only.
                preexec_fn=_die_with_parent,
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def check(self) -> None:
        """Raise if a child has exited."""
        for child in self.children:
            if child.returncode is not None:
                raise ChildFailed(child, "exited unexpectedly")

    def watch(self) -> Child:
        """Block until a child exits, and return it."""
        while True:
            for child in self.children:
                if child.returncode is not None:
                    return child
            time.sleep(_POLL_SECONDS * 2)

    def stop(self, *, timeout: float = 15.0, hurry: threading.Event | None = None) -> None:
        """SIGTERM every child, wait up to ``timeout`` seconds, then SIGKILL what is left.

        ``hurry`` (set by a second Ctrl-C) skips the rest of the wait.
        """
        for child in self.children:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(child.returncode is None for child in self.children):
            if time.monotonic() > deadline or (hurry is not None and hurry.is_set()):
                break
            time.sleep(_POLL_SECONDS)
        for child in self.children:
            # The whole group: a grandchild must not outlive the stack either.
            _signal_group(child, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=5)
        self.children.clear()


def _signal_group(child: Child, signum: int) -> None:
    # Each child leads its own process group (start_new_session), so its pid is the group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)


def _linux_parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a child asks the kernel for SIGTERM when ``vitrina dev`` dies, even by SIGKILL,
    so no service is left holding its port."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def request() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)

    return request


_pdeathsig = _linux_parent_death_signal()


def _die_with_parent() -> None:
    if _pdeathsig is not None:
        _pdeathsig()
