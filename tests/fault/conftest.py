"""The fault suite's long variants run only when asked for (``-m fault_long``), so the default
suite stays within minutes; CI runs them as a step of their own."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "fault_long" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="a long fault variant: select it with -m fault_long")
    for item in items:
        if item.get_closest_marker("fault_long") is not None:
            item.add_marker(skip)
