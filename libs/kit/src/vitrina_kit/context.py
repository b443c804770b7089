"""What the current unit of work is part of: correlation and causation ids.

A request or a consumed event sets them; every log line and every event written to the outbox
during that unit of work carries them, so one business flow can be followed across services.
Log fields bound later in the unit of work (the caller's ``organization_id``, bound where the
token is verified) end with it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import structlog

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)


@contextmanager
def bound(
    *, correlation: str | None, causation: str | None = None, **log_fields: str
) -> Iterator[None]:
    """Run a block with the given correlation and causation ids (and extra log fields).

    Every log field bound inside the block is unbound at its end: a request served in the
    caller's own task (tests, in-process clients) leaves no organization behind for the next.
    """
    corr_token = correlation_id.set(correlation)
    caus_token = causation_id.set(causation)
    outer = structlog.contextvars.get_contextvars()
    fields = {"correlation_id": correlation, "causation_id": causation, **log_fields}
    structlog.contextvars.bind_contextvars(**{k: v for k, v in fields.items() if v})
    try:
        yield
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**outer)
        correlation_id.reset(corr_token)
        causation_id.reset(caus_token)


def bind_log_fields(**fields: str) -> None:
    """Add fields to every log line of the rest of the unit of work (see :func:`bound`)."""
    structlog.contextvars.bind_contextvars(**fields)
