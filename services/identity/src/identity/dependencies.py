"""FastAPI dependencies of identity's own routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from identity.settings import IdentitySettings


def _settings(request: Request) -> IdentitySettings:
    settings = request.app.state.settings
    assert isinstance(settings, IdentitySettings)
    return settings


SettingsDep = Annotated[IdentitySettings, Depends(_settings)]
"""The app's settings, as identity's own class."""

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
"""Headers of every response that carries a secret or a token (RFC 6749 §5.1)."""
