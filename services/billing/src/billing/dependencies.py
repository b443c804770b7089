"""FastAPI dependencies of billing's own routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.settings import BillingSettings


def _settings(request: Request) -> BillingSettings:
    settings = request.app.state.settings
    assert isinstance(settings, BillingSettings)
    return settings


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


SettingsDep = Annotated[BillingSettings, Depends(_settings)]
"""The app's settings, as billing's own class."""

SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
"""The app's session factory: for work in transactions of its own (a billing run's steps)."""
