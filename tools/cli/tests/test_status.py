"""``vitrina status`` against the kit's real ``/metrics`` endpoint, served over HTTP, with series
set through the kit's and integrations' own instruments (the local stack test runs it against
``vitrina dev``)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from vitrina_cli.app import app
from vitrina_cli.status import parse_metrics
from vitrina_kit.local import free_port

SERVER = Path(__file__).with_name("busy_metrics_server.py")


@pytest.fixture(scope="module")
def metrics_url() -> Iterator[str]:
    """The kit's /metrics handler (what every service mounts) on a real port, in a process of
    its own holding the series of a busy billing and integrations (busy_metrics_server.py)."""
    port = free_port()
    server = subprocess.Popen([sys.executable, str(SERVER), str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "the metrics server exited"
            try:
                httpx.get(f"{url}/metrics", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the metrics server did not start"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_figures_come_from_the_exposition_format(metrics_url: str) -> None:
    exposition = httpx.get(f"{metrics_url}/metrics", timeout=5).text

    status = parse_metrics("billing", metrics_url, exposition)

    assert status.up
    assert (status.outbox_backlog, status.oldest_unpublished_seconds, status.parked) == (7, 95, 2)
    subscriptions = status.topics["orders.subscriptions"]
    assert (subscriptions.lag, subscriptions.retries, subscriptions.dead_letters) == (9, 3, 1)
    assert status.topics["catalog.products"].lag == 0
    assert "billing.invoices" not in status.topics  # orders' dead letter
    assert status.lag == 9
    assert status.handler_failures == 2
    assert status.webhook_deliveries == {"delivered": 4, "gave_up": 1}
    assert status.edo_documents["signed"] == 3


def test_vitrina_status_shows_each_service_and_fails_when_one_is_down(metrics_url: str) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    urls = ["--billing-url", metrics_url, "--integrations-url", metrics_url]

    shown = CliRunner().invoke(
        app, ["status", "-s", "billing", "-s", "integrations", "-s", "catalog",
              *urls, "--catalog-url", down],
    )  # fmt: skip

    assert shown.exit_code == 1, shown.output
    rows = [line.split() for line in shown.output.splitlines()]
    # outbox, oldest, parked, lag, retries, failed, dead letters
    assert ["billing", "up", "7", "95", "s", "2", "9", "3", "2", "1"] in rows, shown.output
    assert ["catalog", "down"] in rows
    assert ["billing", "orders.subscriptions", "9", "3", "1"] in rows  # per topic
    assert "integrations: webhook deliveries delivered 4, gave_up 1" in shown.output
    assert "integrations: EDO documents signed 3" in shown.output
    assert f"catalog at {down} does not answer" in shown.output

    as_json = CliRunner().invoke(app, ["status", "-s", "billing", "--json", *urls])
    assert as_json.exit_code == 0, as_json.output
    (billing,) = json.loads(as_json.output)
    assert billing["up"] is True
    assert billing["lag"] == 9
    assert billing["topics"]["orders.subscriptions"]["dead_letters"] == 1
