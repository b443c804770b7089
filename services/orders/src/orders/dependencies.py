"""FastAPI dependencies of orders' own routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.settings import OrdersSettings


def _settings(request: Request) -> OrdersSettings:
    settings = request.app.state.settings
    assert isinstance(settings, OrdersSettings)
    return settings


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


SettingsDep = Annotated[OrdersSettings, Depends(_settings)]
"""The app's settings, as orders' own class."""

SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
"""The app's session factory, for work done in transactions of its own (not the request's)."""
