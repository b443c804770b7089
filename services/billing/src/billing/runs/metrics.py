"""Billing runs as Prometheus sees them: how long each kind takes and how it ends."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from prometheus_client import Counter, Histogram

from vitrina_kit.problems import DomainError

RUN_DURATION = Histogram(
    "vitrina_billing_run_duration_seconds",
    "How long a billing run took, from its record to its completion (or failure).",
    ["kind"],
    buckets=(0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0),
)
RUNS = Counter(
    "vitrina_billing_runs_total",
    "Billing runs by kind (renewals, period_close, dunning, settlements) and outcome "
    "(completed, failed).",
    ["kind", "outcome"],
)


@contextlib.contextmanager
def observed(kind: str) -> Iterator[None]:
    """Time and count one run of ``kind``. A run refused before it starts (a domain error,
    such as settlements for a month not closed yet) is neither: nothing ran."""
    started = time.perf_counter()
    try:
        yield
    except DomainError:
        raise
    except BaseException:
        RUN_DURATION.labels(kind).observe(time.perf_counter() - started)
        RUNS.labels(kind, "failed").inc()
        raise
    RUN_DURATION.labels(kind).observe(time.perf_counter() - started)
    RUNS.labels(kind, "completed").inc()
