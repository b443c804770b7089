"""What time it is, for identity's rules: the real clock, or a test's.

Tokens, keys and secret overlap windows all turn on instants, so domain functions take ``now``
as a parameter; requests get it from the app's clock (``app.state.clock``, set by tests to move
time without sleeping).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def app_clock(request: Request) -> Clock:
    clock: Clock = getattr(request.app.state, "clock", utc_now)
    return clock


def _now(request: Request) -> datetime:
    return app_clock(request)()


NowDep = Annotated[datetime, Depends(_now)]
"""The instant the request is handled at."""
