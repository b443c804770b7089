"""Pytest fixtures for every Vitrina test suite (registered through the ``pytest11`` entry point).

- ``postgres_url``: a PostgreSQL server — ``VITRINA_TEST_DATABASE_URL`` if set, else an embedded
  one for the session;
- ``make_database``: a fresh, uniquely named database on it, dropped after the test;
- ``kafka_bootstrap``: a fresh embedded broker per test (topics and groups never leak between
  tests), or ``VITRINA_TEST_KAFKA_BOOTSTRAP_SERVERS`` if set; ``kafka_broker``: that embedded
  broker itself (None for a configured one), for tests that stop and restart it;
- ``start_service``: services as real processes, killed after the test;
- the ``docker`` marker: skipped, with the reason, where no Docker engine answers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vitrina_kit.local import EmbeddedBroker, EmbeddedPostgres, create_database, drop_database
from vitrina_kit.testing.docker import docker_unavailable_reason
from vitrina_kit.testing.processes import ServiceProcess
from vitrina_kit.testing.tokens import TestIssuer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "docker: needs a Docker engine (skipped where none answers)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None:
        reason = docker_unavailable_reason()
        if reason is not None:
            pytest.skip(f"needs a Docker engine: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the server's ``postgres`` database (the place to create test databases from)."""
    configured = os.environ.get("VITRINA_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    # Not under pytest's basetemp: pytest prunes old basetemps, and a concurrent session would
    # delete this server's data directory from under it.
    home = Path(tempfile.mkdtemp(prefix="vitrina-test-pg-"))
    server = EmbeddedPostgres(home / "data", keep_data=False)
    server.start()
    try:
        yield server.url("postgres")
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def make_database(postgres_url: str) -> Iterator[Callable[[str], str]]:
    """``make_database("catalog")`` -> URL of a new empty database, dropped after the test."""
    created: list[str] = []

    def make(label: str) -> str:
        name = f"t_{label}_{uuid.uuid4().hex[:10]}"
        url = _with_database(postgres_url, name)
        create_database(url)
        created.append(url)
        return url

    yield make
    for url in created:
        drop_database(url)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def kafka_broker(tmp_path: Path) -> Iterator[EmbeddedBroker | None]:
    """The test's own embedded broker, to stop and start again on its port (a fault test);
    None where ``VITRINA_TEST_KAFKA_BOOTSTRAP_SERVERS`` names a broker the test does not own."""
    if os.environ.get("VITRINA_TEST_KAFKA_BOOTSTRAP_SERVERS"):
        yield None
        return
    with EmbeddedBroker(log_file=tmp_path / "broker.log") as broker:
        yield broker


@pytest.fixture
def kafka_bootstrap(kafka_broker: EmbeddedBroker | None) -> str:
    """Bootstrap servers of a broker no other test has touched."""
    if kafka_broker is None:
        return os.environ["VITRINA_TEST_KAFKA_BOOTSTRAP_SERVERS"]
    return kafka_broker.bootstrap_servers


@pytest.fixture(scope="session")
def token_issuer() -> Iterator[TestIssuer]:
    """Signs access tokens for the session's tests and serves its JWKS over HTTP."""
    issuer = TestIssuer()
    with issuer.serving_jwks():
        yield issuer


@pytest.fixture
def start_service(
    tmp_path: Path, kafka_bootstrap: str, token_issuer: TestIssuer
) -> Iterator[Callable[..., ServiceProcess]]:
    """``start_service("catalog", "api", database_url=..., port=...)`` -> a running process.

    It accepts ``token_issuer``'s tokens unless ``env`` names another VITRINA_AUTH_JWKS_URL.
    """
    processes: list[ServiceProcess] = []

    def start(
        service: str,
        command: str,
        *,
        database_url: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> ServiceProcess:
        process = ServiceProcess(
            service,
            command,
            database_url=database_url,
            bootstrap_servers=kafka_bootstrap,
            port=port,
            env={"VITRINA_AUTH_JWKS_URL": token_issuer.jwks_url or "", **(env or {})},
            log_path=tmp_path / f"{service}-{command}-{len(processes)}.log",
        )
        processes.append(process)
        return process.start()

    yield start
    for process in processes:
        process.kill()
    for process in processes:
        # Shown by pytest only when the test failed.
        print(f"----- {process!r} log -----\n{process.logs(tail=20_000)}")
