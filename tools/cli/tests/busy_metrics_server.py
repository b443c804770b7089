"""Serves the kit's real ``/metrics`` endpoint with what a busy billing and integrations would
report, set through their own instruments: ``python busy_metrics_server.py PORT``.

A process of its own, so its registry holds these series and nothing another test counted.
"""

from __future__ import annotations

import sys

import uvicorn
from aiokafka import TopicPartition
from starlette.applications import Starlette
from starlette.routing import Route

from integrations.edo.metrics import DOCUMENTS
from integrations.webhooks.metrics import DELIVERIES
from vitrina_kit import metrics


def report_busy_services() -> None:
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


if __name__ == "__main__":
    report_busy_services()
    uvicorn.run(
        Starlette(routes=[Route(metrics.METRICS_PATH, metrics.metrics_endpoint)]),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_config=None,
        access_log=False,
    )
