"""Looking straight into a service's database from a test (to check what an API did or did not
change), without sharing the service's engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


async def query(database_url: str, sql: str, **params: Any) -> list[Row[Any]]:
    """The rows of ``sql`` (bound ``params``) on the database ``database_url`` names."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


async def scalar(database_url: str, sql: str, **params: Any) -> Any:
    """The first column of the first row of ``sql``, or None when there is no row."""
    rows = await query(database_url, sql, **params)
    return rows[0][0] if rows else None


async def execute(database_url: str, sql: str, **params: Any) -> int:
    """Run and commit ``sql`` (to put a row where time would have taken it); rows affected."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            return (await connection.execute(text(sql), params)).rowcount
    finally:
        await engine.dispose()


async def terminate_connections(database_url: str) -> int:
    """``pg_terminate_backend`` every other session on the database ``database_url`` names
    (what a failover or a DBA's kill does to a service); how many were terminated."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            terminated = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return sum(1 for (done,) in terminated if done)
    finally:
        await engine.dispose()
