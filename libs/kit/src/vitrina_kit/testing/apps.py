"""A service's app in the test's own process, over its real database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from vitrina_kit.migrations import upgrade
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
