"""The whole marketplace on one machine: broker, PostgreSQL, one database per service, every
service as a child process, and the simulators of the external systems (EDO operator, 1C, a
partner's provisioning endpoint) as child processes on the ports after the services'.

Infrastructure comes from the kit's embedded broker and PostgreSQL unless real ones are named by
``KAFKA_BOOTSTRAP_SERVERS`` and ``VITRINA_DATABASE_URL``. With ``demo_clock``, every service and
simulator follows the demo clock (``vitrina_kit.local.clock``) kept in the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy.engine import make_url

from vitrina_cli.demo_clock import StackClock
from vitrina_cli.simulators import Simulator, local_simulators
from vitrina_cli.supervisor import Supervisor
from vitrina_cli.workspace import (
    BOOTSTRAP_SERVERS_FILE,
    DEMO_CLOCK_FILE,
    DEMO_CLOCK_STACK_FILE,
    LOCK_FILE,
    SERVICES,
)
from vitrina_kit.kafka import ensure_topics
from vitrina_kit.local import EmbeddedBroker, EmbeddedPostgres, create_database, drop_database
from vitrina_kit.local.clock import DemoClock, process_env, time_machine_available
from vitrina_kit.migrations import upgrade

StepReporter = Callable[[str], AbstractContextManager[None]]
"""``with report("Migrating databases"):`` — how the stack tells the user what it is doing."""


@contextlib.contextmanager
def _no_report(_title: str) -> Iterator[None]:
    yield


_READY_TIMEOUT_SECONDS = 90.0


@dataclass(frozen=True)
class StackConfig:
    root: Path
    data_dir: Path
    base_port: int = 8001
    host: str = "127.0.0.1"
    fresh: bool = False
    kafka_bootstrap_servers: str | None = None
    """A real broker to use instead of the embedded one."""
    database_url: str | None = None
    """A real PostgreSQL server to use instead of the embedded one (any database on it)."""
    simulators: bool = True
    """Whether the EDO, 1C and partner simulators may be started (``Stack.start_simulators``)."""
    demo_clock: bool = False
    """Whether the services and simulators live on the demo clock (``vitrina time set``)."""

    @classmethod
    def from_env(
        cls,
        root: Path,
        data_dir: Path,
        *,
        base_port: int = 8001,
        fresh: bool = False,
        simulators: bool = True,
        demo_clock: bool = False,
    ) -> StackConfig:
        """Embedded infrastructure unless ``KAFKA_BOOTSTRAP_SERVERS`` / ``VITRINA_DATABASE_URL``
        name real servers."""
        return cls(
            root=root,
            data_dir=data_dir.resolve(),
            base_port=base_port,
            fresh=fresh,
            simulators=simulators,
            demo_clock=demo_clock,
            kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            database_url=os.environ.get("VITRINA_DATABASE_URL") or None,
        )

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def clock(self) -> DemoClock | None:
        """The demo clock the processes follow, if they do."""
        return DemoClock(self.data_dir / DEMO_CLOCK_FILE) if self.demo_clock else None


@dataclass(frozen=True)
class ServiceEndpoint:
    name: str
    host: str
    port: int
    database_url: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def docs_url(self) -> str:
        return f"{self.url}/docs"


class StackError(RuntimeError):
    """The stack could not start; the message says why and what to do."""


@dataclass
class Stack:
    """Starts the marketplace (:meth:`start`) and takes it down again (:meth:`stop`).

    ``stop`` is safe at any point of ``start``: it undoes exactly what was done.
    """

    config: StackConfig
    report: StepReporter = _no_report
    supervisor: Supervisor = field(default_factory=Supervisor)
    services: list[ServiceEndpoint] = field(default_factory=list)
    simulators: list[Simulator] = field(default_factory=list)
    """The simulators started (:meth:`start_simulators`)."""
    created_databases: list[str] = field(default_factory=list)
    clock_kept: bool = False
    """The demo clock went on from where the last run left it (rather than the real time)."""
    _broker: EmbeddedBroker | None = None
    _postgres: EmbeddedPostgres | None = None
    _bootstrap_servers: str | None = None
    _lock: IO[str] | None = None
    _clock_told: bool = False

    # -- what it runs on ------------------------------------------------------------------

    @property
    def broker_embedded(self) -> bool:
        return self.config.kafka_bootstrap_servers is None

    @property
    def postgres_embedded(self) -> bool:
        return self.config.database_url is None

    @property
    def bootstrap_servers(self) -> str:
        assert self._bootstrap_servers is not None, "the stack is not started"
        return self._bootstrap_servers

    @property
    def database_location(self) -> str:
        if self.config.database_url is not None:
            return make_url(self.config.database_url).render_as_string(hide_password=True)
        return str(self.config.data_dir / "postgres")

    @property
    def identity_url(self) -> str:
        """Where this stack's identity service listens (known before it is started)."""
        port = self.config.base_port + list(SERVICES).index("identity")
        return f"http://{self.config.host}:{port}"

    def service(self, name: str) -> ServiceEndpoint:
        return next(endpoint for endpoint in self.services if endpoint.name == name)

    @property
    def simulator_choices(self) -> list[Simulator]:
        """The simulators this stack may start, on their ports (none with ``simulators=False``)."""
        if not self.config.simulators:
            return []
        return local_simulators(self.config.base_port, self.config.host)

    # -- start and stop -------------------------------------------------------------------

    def start(self) -> None:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self._check_ports()
        self._set_up_clock()
        with self.report("Starting the embedded broker" if self.broker_embedded else "Broker"):
            self._start_broker()
        with self.report("Starting PostgreSQL" if self.postgres_embedded else "PostgreSQL"):
            server_url = self._start_postgres()
        with self.report("Creating databases"):
            self._create_databases(server_url)
        with self.report("Migrating databases and creating topics"):
            self._migrate_and_create_topics()
        with self.report("Starting services"):
            self._start_services()
            self._wait_until_ready()
        self._tell_clock()

    def start_simulators(self, names: set[str] | None = None) -> None:
        """Start the simulators named (all by default) and wait until each answers.

        Separate from :meth:`start`: the seed first asks integrations whether the operator has
        connected real systems, and a simulator nothing would talk to is not started.
        """
        chosen = [s for s in self.simulator_choices if names is None or s.name in names]
        for simulator in chosen:
            self.supervisor.spawn(
                simulator.name,
                simulator.argv,
                env=self._with_clock({**os.environ, "PYTHONUNBUFFERED": "1"}),
                log_path=self._log_path(simulator.name),
                cwd=self.config.root,
            )
            self.simulators.append(simulator)
        self._wait_for({s.name: s.ready_url for s in chosen})
        self._tell_clock()

    def stop(self, *, hurry: threading.Event | None = None) -> None:
        """Services first (they finish in-flight work against a live broker and database),
        then the broker, then PostgreSQL."""
        self.supervisor.stop(hurry=hurry)
        if self._clock_told:
            self._clock_stack_file.unlink(missing_ok=True)
        if self._bootstrap_servers is not None:
            self._broker_file.unlink(missing_ok=True)
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
        if self._postgres is not None:
            self._postgres.stop()
            self._postgres = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- the steps ------------------------------------------------------------------------

    def _take_lock(self) -> None:
        lock = open(self.config.data_dir / LOCK_FILE, "w")  # noqa: SIM115 - held until stop()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StackError(
                f"another `vitrina dev` is using {self.config.data_dir}; stop it first "
                "or give this one another --data-dir"
            ) from None
        self._lock = lock

    def _check_ports(self) -> None:
        wanted = [(self.config.base_port + offset, name) for offset, name in enumerate(SERVICES)]
        wanted += [
            (simulator.port, f"the {simulator.name} simulator")
            for simulator in self.simulator_choices
        ]
        for port, name in wanted:
            if not _port_free(self.config.host, port):
                raise StackError(
                    f"port {port} (for {name}) is in use — is another `vitrina dev` running? "
                    "Stop it, or choose other ports with --base-port"
                )

    def _set_up_clock(self) -> None:
        clock = self.config.clock
        if clock is None:
            return
        if not time_machine_available():
            raise StackError(
                "--demo-clock needs time-machine, a development dependency: "
                "pip install -r requirements-dev.txt (./vitrina installs it)"
            )
        # Kept across runs: the databases remember the demo's calendar, and a clock that went
        # back on a restart would find invoices from its future.
        self.clock_kept = not self.config.fresh and _readable(clock)
        if not self.clock_kept:
            clock.reset()

    def _tell_clock(self) -> None:
        """Write down who follows the demo clock, for ``vitrina time`` (rewritten as simulators
        join)."""
        clock = self.config.clock
        if clock is None:
            return
        followers = {endpoint.name: f"{endpoint.url}/health/live" for endpoint in self.services}
        followers.update({simulator.name: simulator.ready_url for simulator in self.simulators})
        StackClock(
            clock_file=clock.path,
            identity_url=self.identity_url,
            orders_url=self.service("orders").url,
            followers=followers,
        ).save(self._clock_stack_file)
        self._clock_told = True

    @property
    def _clock_stack_file(self) -> Path:
        return self.config.data_dir / DEMO_CLOCK_STACK_FILE

    def _with_clock(self, env: dict[str, str]) -> dict[str, str]:
        clock = self.config.clock
        return env if clock is None else {**env, **process_env(clock.path, env)}

    def _start_broker(self) -> None:
        if self.config.kafka_bootstrap_servers is not None:
            self._bootstrap_servers = self.config.kafka_bootstrap_servers
        else:
            self.config.logs_dir.mkdir(parents=True, exist_ok=True)
            self._broker = EmbeddedBroker(log_file=self.config.logs_dir / "broker.log").start()
            self._bootstrap_servers = self._broker.bootstrap_servers
        # For `vitrina lag` in another terminal: the embedded broker's port is picked at start.
        self._broker_file.write_text(self._bootstrap_servers + "\n", "utf-8")

    @property
    def _broker_file(self) -> Path:
        return self.config.data_dir / BOOTSTRAP_SERVERS_FILE

    def _start_postgres(self) -> str:
        if self.config.database_url is not None:
            return self.config.database_url
        self._postgres = EmbeddedPostgres(self.config.data_dir / "postgres", keep_data=True)
        self._postgres.start()
        return self._postgres.url("postgres")

    def _create_databases(self, server_url: str) -> None:
        for offset, name in enumerate(SERVICES):
            url = database_url(server_url, name)
            if self.config.fresh:
                drop_database(url)
            if create_database(url):
                self.created_databases.append(name)
            self.services.append(
                ServiceEndpoint(
                    name=name,
                    host=self.config.host,
                    port=self.config.base_port + offset,
                    database_url=url,
                )
            )

    def _migrate_and_create_topics(self) -> None:
        # In this process rather than `python -m <service> migrate` each: the five would spend
        # seconds importing the same libraries, and they share a database server anyway.
        for endpoint in self.services:
            try:
                service = importlib.import_module(f"{endpoint.name}.main").SERVICE
                upgrade(Path(service.migrations), endpoint.database_url)
            except Exception as error:
                log = self._log_path(endpoint.name)
                log.parent.mkdir(parents=True, exist_ok=True)
                log.write_text(traceback.format_exc(), "utf-8")
                raise StackError(
                    f"migrating {endpoint.name}'s database failed: {error!r} (traceback in {log})"
                ) from error
        asyncio.run(ensure_topics(self.bootstrap_servers))

    def _start_services(self) -> None:
        for endpoint in self.services:
            self.supervisor.spawn(
                endpoint.name,
                [sys.executable, "-m", endpoint.name, "run"],
                env=self.service_env(endpoint),
                log_path=self._log_path(endpoint.name),
                cwd=self.config.root,
            )

    def _wait_until_ready(self) -> None:
        self._wait_for(
            {endpoint.name: f"{endpoint.url}/health/ready" for endpoint in self.services}
        )

    def _wait_for(self, readiness: dict[str, str]) -> None:
        """Until every child's readiness URL answers 200 (name -> URL)."""
        waiting = dict(readiness)
        deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
        with httpx.Client(timeout=5.0) as client:
            while waiting:
                self.supervisor.check()
                for name, url in list(waiting.items()):
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(url).status_code == 200:
                            del waiting[name]
                if waiting and time.monotonic() > deadline:
                    names = ", ".join(sorted(waiting))
                    raise StackError(
                        f"not ready after {_READY_TIMEOUT_SECONDS:.0f} s: {names} "
                        f"(see {self.config.logs_dir})"
                    )
                if waiting:
                    time.sleep(0.1)

    # -- a service's environment ----------------------------------------------------------

    def service_env(self, endpoint: ServiceEndpoint) -> dict[str, str]:
        """The child's environment: the user's own, plus where to find everything."""
        prefix = endpoint.name.upper() + "_"
        env = dict(os.environ)
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
                prefix + "DATABASE_URL": endpoint.database_url,
                prefix + "HTTP_HOST": endpoint.host,
                prefix + "HTTP_PORT": str(endpoint.port),
                prefix + "PUBLIC_URL": endpoint.url,
                # Tokens come from this stack's identity service, whatever port it got.
                "VITRINA_AUTH_ISSUER": self.identity_url,
                "VITRINA_AUTH_JWKS_URL": f"{self.identity_url}/.well-known/jwks.json",
                "PYTHONUNBUFFERED": "1",
            }
        )
        tuning = {
            prefix + "LOG_FORMAT": "console",
            # The embedded broker answers a waiting fetch only when the wait ends: keep it short.
            prefix + "KAFKA_FETCH_MAX_WAIT_MS": "100",
        }
        if endpoint.name == "integrations":
            # The partner simulator is on this machine: allow plain http to loopback, which
            # production refuses (webhook targets must be public https addresses).
            tuning["INTEGRATIONS_WEBHOOK_ALLOW_HTTP"] = "true"
            tuning["INTEGRATIONS_WEBHOOK_ALLOWED_NETWORKS"] = '["127.0.0.0/8"]'
            # A person following the demo waits for the buyer's signature to show: look every
            # few seconds rather than every 30.
            tuning["INTEGRATIONS_EDO_TRACK_INTERVAL_SECONDS"] = "5"
        if self.broker_embedded:
            # It also takes about session_timeout / 2 for every rebalance.
            tuning[prefix + "KAFKA_SESSION_TIMEOUT_MS"] = "3000"
            tuning[prefix + "KAFKA_HEARTBEAT_INTERVAL_MS"] = "500"
        for name, value in tuning.items():
            env.setdefault(name, value)  # the user's own setting wins
        return self._with_clock(env)

    def _log_path(self, service: str) -> Path:
        return self.config.logs_dir / f"{service}.log"


def database_url(server_url: str, service: str) -> str:
    """The URL of ``service``'s own database (``vitrina_<service>``) on the server ``server_url``
    names, with the asyncpg driver the services use."""
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=f"vitrina_{service}")
    return url.render_as_string(hide_password=False)


def _readable(clock: DemoClock) -> bool:
    try:
        clock.now()
    except (OSError, ValueError):
        return False
    return True


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The same option uvicorn sets, so a port in TIME_WAIT from the last run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
