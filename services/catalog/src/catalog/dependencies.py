"""FastAPI dependencies of catalog's own routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from catalog.settings import CatalogSettings


def _settings(request: Request) -> CatalogSettings:
    settings = request.app.state.settings
    assert isinstance(settings, CatalogSettings)
    return settings


SettingsDep = Annotated[CatalogSettings, Depends(_settings)]
"""The app's settings, as catalog's own class."""
