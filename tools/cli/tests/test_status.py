"""``vitrina status`` against the kit's real ``/metrics`` endpoint, served over HTTP, with series
set through the kit's and integrations' own instruments (the local stack test runs it against
``vitrina dev``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from aiokafka import TopicPartition
from starlette.applications import Starlette
from starlette.routing import Route
from typer.testing import CliRunner

from integrations.edo.metrics import DOCUMENTS
from integrations.webhooks.metrics import DELIVERIES
from vitrina_cli.app import app
from vitrina_cli.status import parse_metrics
from vitrina_kit import metrics
from vitrina_kit.local import free_port


@pytest.fixture(scope="module")
def metrics_url() -> Iterator[str]:
    """The kit's /metrics handler (what every service mounts) on a real port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route(metrics.METRICS_PATH, metrics.metrics_endpoint)]),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the metrics server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module", autouse=True)
def series() -> None:
    """What a busy billing and integrations would report."""
    metrics.OUTBOX_BACKLOG.labels("billing").set(7)
    metrics.OUTBOX_OLDEST_AGE.labels("billing").set(95.0)
    metrics.OUTBOX_PARKED.labels("billing").set(2)
    consumer = metrics.ConsumerMetrics("billing")
    consumer.lag(TopicPartition("orders.subscriptions", 0), highwater=10, position=4)
    consumer.lag(TopicPartition("orders.subscriptions", 1), highwater=5, position=2)
    consumer.lag(TopicPartition("catalog.products", 0), highwater=3, position=3)
    consumer.retried("orders.subscriptions", 3)
    consumer.dead_lettered("orders.subscriptions")
    consumer.event("ru.vitrina.orders.subscription.created", "dead_lettered")
    consumer.event("ru.vitrina.orders.subscription.created", "retried")
    consumer.event("ru.vitrina.orders.subscription.created", "handled")
    # Another service's series in the same registry: not billing's.
    metrics.OUTBOX_BACKLOG.labels("orders").set(1000)
    metrics.DEAD_LETTERS.labels("orders", "billing.invoices").inc()
    DELIVERIES.labels("delivered").inc(4)
    DELIVERIES.labels("gave_up").inc()
    DOCUMENTS.labels("signed").set(3)


def test_the_figures_come_from_the_exposition_format(metrics_url: str) -> None:
    from prometheus_client import REGISTRY, generate_latest

    status = parse_metrics("billing", metrics_url, generate_latest(REGISTRY).decode())

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
