"""Every operation of every service, fuzzed: no 5xx, only documented status codes, content types
and bodies, and every error problem+json (see conftest.py for the callers and the checks).

The default run is bounded (a few examples per operation, derandomized, so it is the same run
every time); ``-m fuzz_long`` runs the long variant, with random examples and many more of them
(300 per operation, or ``VITRINA_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

BOUNDED = settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
LONG = settings(
    max_examples=int(os.environ.get("VITRINA_FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_every_answer_is_documented(
    fuzz_targets: Any, fuzz_operation: tuple[str, str, str]
) -> None:
    service, method, path = fuzz_operation

    answered = fuzz_targets[service].fuzz(method, path, BOUNDED)

    assert answered, "no case reached the service"
    assert all(status < 500 for status in answered), answered


@pytest.mark.fuzz_long
def test_every_answer_is_documented_long(
    fuzz_targets: Any, fuzz_operation: tuple[str, str, str]
) -> None:
    service, method, path = fuzz_operation

    answered = fuzz_targets[service].fuzz(method, path, LONG)

    assert answered, "no case reached the service"
    assert all(status < 500 for status in answered), answered
