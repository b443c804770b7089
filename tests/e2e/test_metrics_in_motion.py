"""The metrics in motion, every piece real: orders (API, consumer and relay in one process),
billing's API, and billing's consumer as a worker-only process with its own metrics server,
the broker and PostgreSQL.

A burst of orders goes through orders' API while billing's consumer is not running yet; then
it starts and works the backlog off. Sampled from /metrics all along: requests by route, the
outbox backlog back to 0 with what it published, billing's consumer lag rising and draining
back to 0, events handled per type, a poison record dead-lettered, and a billing run timed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import billing.main
import orders.main
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.catalog import ProductPublished
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_kit import kafka
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.local import free_port
from vitrina_kit.testing import ServiceProcess, TestIssuer, migrated_database, send_raw, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ORDERS = 40
SUBSCRIPTION_CREATED = "ru.vitrina.orders.subscription.created"


@dataclass(frozen=True)
class Metrics:
    """One scrape: every sample by name, with its labels."""

    samples: list[tuple[str, dict[str, str], float]]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the series of ``name`` whose labels include ``labels`` (0 if none)."""
        return sum(
            value
            for sample_name, sample_labels, value in self.samples
            if sample_name == name and labels.items() <= sample_labels.items()
        )

    def has(self, name: str, **labels: str) -> bool:
        return any(
            sample_name == name and labels.items() <= sample_labels.items()
            for sample_name, sample_labels, _ in self.samples
        )


async def scrape(http: httpx.AsyncClient, base_url: str) -> Metrics:
    answer = await http.get(f"{base_url}/metrics")
    assert answer.status_code == 200, answer.text
    return Metrics(
        [
            (sample.name, dict(sample.labels), sample.value)
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        ]
    )


async def publish(bootstrap: str, event: Event, *, owner: str, version: int) -> None:
    """``event`` as its owner's relay would publish it (identity and catalog are not running)."""
    envelope = build_envelope(
        event, source=f"/vitrina/{owner}", subject=event.aggregate_id(), aggregate_version=version
    )
    await send_raw(
        bootstrap, event.topic, [envelope.to_json_bytes()], key=envelope.subject.encode()
    )


async def test_metrics_move_with_a_burst_of_orders(
    make_database: Callable[[str], str],
    start_service: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
) -> None:
    started = time.monotonic()
    await kafka.ensure_topics(kafka_bootstrap)
    billing_db = migrated_database(make_database, billing.main.SERVICE)
    orders_api = start_service(
        "orders",
        "run",
        port=free_port(),
        database_url=migrated_database(make_database, orders.main.SERVICE),
        env={"ORDERS_METRICS_REFRESH_SECONDS": "0.2"},
    )
    billing_api = start_service("billing", "api", port=free_port(), database_url=billing_db)

    business_id = uuid.uuid4()
    business = OrganizationUpdated.example().organization.model_copy(
        update={"organization_id": business_id}
    )
    product = ProductPublished.example()
    plan_id = product.product.plans[0].plan_id
    await publish(kafka_bootstrap, OrganizationUpdated(organization=business), owner="identity",
                  version=3)  # fmt: skip
    await publish(kafka_bootstrap, product, owner="catalog", version=1)
    buyer = token_issuer.headers(business_id, OrganizationKind.BUSINESS)
    operator = token_issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR)

    async with httpx.AsyncClient(timeout=15) as http:

        async def place_order() -> httpx.Response:
            return await http.post(
                f"{orders_api.base_url}/orders",
                json={"lines": [{"plan_id": str(plan_id), "quantity": 3}]},
                headers={**buyer, "Idempotency-Key": str(uuid.uuid4())},
            )

        async def orderable() -> bool:  # the organization and the product reached orders
            return (await place_order()).status_code == 201

        await wait_until(orderable, timeout=30, interval=0.2, message="orders to take orders")

        # ---- the burst ----------------------------------------------------------------------
        gate = asyncio.Semaphore(8)

        async def one_order() -> int:
            async with gate:
                return (await place_order()).status_code

        statuses = await asyncio.gather(*(one_order() for _ in range(ORDERS)))
        assert statuses == [201] * ORDERS
        assert (await http.get(f"{orders_api.base_url}/no/such/page")).status_code == 404

        async def outbox_drained() -> Metrics | None:
            found = await scrape(http, orders_api.base_url)
            published = found.value(
                "vitrina_outbox_published_total", service="orders", topic="orders.subscriptions"
            )
            waiting = found.value("vitrina_outbox_backlog_messages", service="orders")
            return found if published >= ORDERS + 1 and waiting == 0 else None

        at_orders = await wait_until(outbox_drained, timeout=15, message="orders' outbox drained")
        assert at_orders.has("vitrina_outbox_backlog_messages", service="orders")
        assert (
            at_orders.value("vitrina_outbox_oldest_unpublished_age_seconds", service="orders") == 0
        )
        assert at_orders.value("vitrina_outbox_parked_messages", service="orders") == 0
        requests = "vitrina_http_requests_total"
        assert at_orders.value(
            requests, service="orders", method="POST", route="/orders", status="201"
        ) == ORDERS + 1  # fmt: skip
        assert at_orders.value(requests, service="orders", route="unmatched", status="404") == 1
        assert not at_orders.has(requests, route="/no/such/page")
        assert at_orders.value(
            "vitrina_http_request_duration_seconds_count", service="orders", route="/orders"
        ) >= ORDERS  # fmt: skip
        handled = "vitrina_consumer_events_total"
        assert at_orders.value(
            handled, service="orders", event_type=ProductPublished.event_type, outcome="handled"
        ) == 1  # fmt: skip
        assert at_orders.value(
            "vitrina_job_runs_total", service="orders", job_name="subscriptions-scheduler",
            outcome="succeeded",
        ) >= 1  # fmt: skip

        # ---- billing's consumer starts behind, and catches up -------------------------------
        metrics_port = free_port()
        start_service(
            "billing", "consumer", database_url=billing_db,
            env={
                "BILLING_METRICS_PORT": str(metrics_port),
                "BILLING_DEAD_LETTER_QUEUE_REFRESH_SECONDS": "1",
            },
        )  # fmt: skip
        consumer_url = f"http://127.0.0.1:{metrics_port}"
        lags: list[float] = []

        async def caught_up() -> Metrics | None:
            try:
                found = await scrape(http, consumer_url)
            except httpx.TransportError:
                return None  # not serving yet
            lag = found.value("vitrina_consumer_lag_messages", service="billing")
            lags.append(lag)
            done = found.value(
                handled, service="billing", event_type=SUBSCRIPTION_CREATED, outcome="handled"
            )
            return found if done >= ORDERS + 1 and lag == 0 else None

        at_billing = await wait_until(
            caught_up, timeout=40, interval=0.03, message="billing's consumer to catch up"
        )
        assert max(lags) > 0, lags  # it started behind the burst
        assert at_billing.has("vitrina_consumer_lag_messages", service="billing",
                              topic="orders.subscriptions")  # fmt: skip
        assert at_billing.value(
            "vitrina_consumer_handler_duration_seconds_count", service="billing",
            event_type=SUBSCRIPTION_CREATED,
        ) >= ORDERS + 1  # fmt: skip

        # ---- a poison record ----------------------------------------------------------------
        await send_raw(kafka_bootstrap, "orders.subscriptions", [b"{not an event"], key=b"x")

        async def dead_lettered() -> Metrics | None:
            found = await scrape(http, consumer_url)
            counted = found.value(
                "vitrina_dead_letters_total", service="billing", topic="orders.subscriptions"
            )
            # Only billing reads orders.subscriptions here: the DLQ holds this one record.
            held = found.value("vitrina_dead_letter_queue_messages", topic="orders.subscriptions")
            return found if counted == 1 and held == 1 else None

        at_billing = await wait_until(dead_lettered, timeout=10, message="the poison counted")
        assert at_billing.value(
            handled, service="billing", event_type="unparseable", outcome="dead_lettered"
        ) == 1  # fmt: skip

        # ---- a billing run ------------------------------------------------------------------
        run = await http.post(
            f"{billing_api.base_url}/billing-runs",
            json={"kind": "renewals", "date": datetime.now(UTC).date().isoformat()},
            headers={**operator, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert run.status_code == 201, run.text
        at_billing_api = await scrape(http, billing_api.base_url)
        assert at_billing_api.value(
            "vitrina_billing_run_duration_seconds_count", kind="renewals"
        ) == 1  # fmt: skip
        assert at_billing_api.value(
            "vitrina_billing_runs_total", kind="renewals", outcome="completed"
        ) == 1  # fmt: skip
        assert at_billing_api.value(
            requests, service="billing", method="POST", route="/billing-runs", status="201"
        ) == 1  # fmt: skip

    assert time.monotonic() - started < 60
