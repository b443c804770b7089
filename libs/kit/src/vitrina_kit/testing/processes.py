"""Services as real processes, so tests can kill -9 them and start them again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


class ServiceProcess:
    """One process of a service: ``python -m <service> <command>`` with the test's settings.

    ``command`` is ``api``, ``consumer``, ``relay`` or ``run``. Output goes to ``log_path`` so a
    failing test can show what the service said.
    """

    def __init__(
        self,
        service: str,
        command: str,
        *,
        database_url: str,
        bootstrap_servers: str,
        log_path: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.service = service
        self.command = command
        self.port = port
        self.log_path = log_path
        prefix = service.upper() + "_"
        self._env = {
            **os.environ,
            prefix + "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            # Fast group coordination on the embedded broker (rebalances take session/2).
            prefix + "KAFKA_SESSION_TIMEOUT_MS": "3000",
            prefix + "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            prefix + "KAFKA_FETCH_MAX_WAIT_MS": "50",
            prefix + "CONSUMER_RETRY_BASE_SECONDS": "0.05",
            prefix + "LOG_FORMAT": "json",
            **(env or {}),
        }
        if port is not None:
            self._env[prefix + "HTTP_PORT"] = str(port)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        assert self.port is not None
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self, *, ready_timeout: float = 30.0) -> ServiceProcess:
        """Start the process; for an API, wait until ``/health/ready`` answers 200."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.service, self.command],
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if self.port is not None:
            self._wait_ready(ready_timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"{self} exited with {self._process.returncode}:\n{self.logs(tail=20_000)}"
                )
            try:
                if httpx.get(self.base_url + "/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self} not ready after {timeout}s:\n{self.logs(tail=20_000)}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final commit — a crash."""
        self._signal(signal.SIGKILL)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM and wait: the graceful shutdown path."""
        self._signal(signal.SIGTERM, timeout=timeout)

    def _signal(self, signum: int, timeout: float = 10.0) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signum)
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    @property
    def exit_code(self) -> int | None:
        """The exit status once the process has ended (negative: killed by that signal)."""
        return self._process.poll() if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def logs(self, *, tail: int | None = None) -> str:
        """What the process wrote so far; ``tail``: only its last that many characters."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text[-tail:] if tail else text

    def __repr__(self) -> str:
        return f"<{self.service} {self.command} pid={self._process.pid if self._process else None}>"
