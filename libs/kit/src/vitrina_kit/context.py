"""What the current unit of work is part of: correlation and causation ids.

A request or a consumed event sets them; every log line and every event written to the outbox
during that unit of work carries them, so one business flow can be followed across services.
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
    """Run a block with the given correlation and causation ids (and extra log fields)."""
    corr_token = correlation_id.set(correlation)
    caus_token = causation_id.set(causation)
    fields = {"correlation_id": correlation, "causation_id": causation, **log_fields}
    with structlog.contextvars.bound_contextvars(**{k: v for k, v in fields.items() if v}):
        try:
            yield
        finally:
            correlation_id.reset(corr_token)
            causation_id.reset(caus_token)
