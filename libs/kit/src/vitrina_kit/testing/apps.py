"""A service's app in the test's own process, over its real database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from vitrina_kit.migrations import KIT_METADATA, upgrade
from vitrina_kit.service import Service


def migrated_database(make_database: Callable[[str], str], service: Service) -> str:
    """A new database for ``service`` with its migrations applied; returns its URL."""
    url = make_database(service.name)
    upgrade(service.migrations, url)
    return url


@asynccontextmanager
async def app_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client wired straight to ``app``, with its lifespan (engine, workers) running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def schema_differences(service: Service, database_url: str) -> list[object]:
    """What differs between the migrated database and the service's models (empty: in step).

    Alembic's autogenerate comparison, so a model changed without its migration shows up here.
    """
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_compare, [service.metadata, KIT_METADATA])
    finally:
        await engine.dispose()


def _compare(connection: Connection, metadata: list[MetaData]) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))  # type: ignore[arg-type]
