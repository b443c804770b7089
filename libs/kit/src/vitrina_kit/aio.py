"""Small asyncio helpers the kit's long-running loops share."""

from __future__ import annotations

import asyncio
import contextlib


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, waking early when ``stop`` is set (so shutdown never waits a poll)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
