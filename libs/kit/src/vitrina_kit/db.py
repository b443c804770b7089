"""Database plumbing: one async engine per service, a session per request or message.

The caller (a request or a consumed message) owns the transaction; service functions only
``flush()``. :func:`transaction` is the one place a unit of work begins and commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, event, exc, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

# Stable constraint names make Alembic autogenerate and hand-written migrations agree.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData with Vitrina's naming convention; each service and the kit own one."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class KitBase(DeclarativeBase):
    """Base of the kit's own tables (outbox, inbox, idempotency keys).

    They live in every service's database; each service's Alembic environment targets both its
    own metadata and this one.
    """

    metadata = new_metadata()


def create_engine(url: str, *, pool_size: int = 10, **kwargs: Any) -> AsyncEngine:
    """Create the service's engine; it survives a restarted database without a ping per use.

    ``pool_pre_ping`` would cost three round trips (BEGIN, ping, ROLLBACK) every time a request
    or an event takes a connection. Instead a connection the server has closed (a restart,
    ``pg_terminate_backend``, an idle timeout) is known to the driver without asking, and is
    replaced at checkout along with every other pooled connection of its time. One that dies
    while in use fails its unit of work, which rolls back: a consumed event is retried by the
    runner, a request is answered with an error its client may retry (with the same
    Idempotency-Key, if it creates something).

    ``hide_parameters``: a failed statement's error (logged, put in DLQ headers) shows the SQL
    but not its values, which may be INNs, bank accounts or secrets.
    """
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        hide_parameters=True,
        **kwargs,
    )
    event.listen(engine.sync_engine, "checkout", _replace_if_closed)
    return engine


def _replace_if_closed(
    dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    # SQLAlchemy's documented pessimistic check, without the round trip: raising here makes
    # the pool open a fresh connection (and retire the others opened before it) for this
    # checkout, so the unit of work starts on a live connection.
    driver = dbapi_connection.driver_connection
    if driver is not None and driver.is_closed():
        raise exc.InvalidatePoolError("the server closed this pooled connection")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits if the block succeeds, rolls back if it raises."""
    async with sessions() as session, session.begin():
        yield session


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
