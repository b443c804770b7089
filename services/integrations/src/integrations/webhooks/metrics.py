"""Webhook deliveries as Prometheus sees them."""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter, Histogram

DeliveryOutcome = Literal["delivered", "failed_attempt", "gave_up"]
"""An attempt's result: acknowledged; failed with another attempt scheduled; failed and the
last of its schedule (the delivery failed for good)."""

DELIVERIES = Counter(
    "vitrina_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (delivered, failed_attempt, gave_up).",
    ["outcome"],
)
DELIVERY_DURATION = Histogram(
    "vitrina_webhook_delivery_duration_seconds",
    "One delivery attempt: the target check, the POST and reading the answer.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ENDPOINTS_DISABLED = Counter(
    "vitrina_webhook_endpoints_disabled_total",
    "Webhook endpoints disabled for failing too long (not those their owners disabled).",
)


def attempted(outcome: DeliveryOutcome, latency_ms: int) -> None:
    DELIVERIES.labels(outcome).inc()
    DELIVERY_DURATION.observe(latency_ms / 1000)
