"""One trace across two services and the outbox: orders and billing in this process with their
workers, on the real broker and PostgreSQL, every span kept in memory.

POST /orders writes subscription.created in the request's span; orders' relay sends it, billing's
consumer handles it in a span whose parent is that request span, and the invoice.issued billing
writes there carries billing's span as its traceparent: the same trace, link by link.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import partial

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import billing.main
import orders.main
from billing.invoices.documents import seller
from billing.invoices.domain import Period
from billing.messaging.handlers import HANDLERS as BILLING_HANDLERS
from billing.runs import service as runs
from billing.settings import BillingSettings
from orders.settings import OrdersSettings
from vitrina_contracts.envelope import CloudEvent, build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.catalog import PlanSnapshot, ProductPublished
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_contracts.events.orders import (
    SubscriptionActivated,
    SubscriptionCreated,
    SubscriptionSnapshot,
)
from vitrina_kit import db, tracing
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.consumer import Received
from vitrina_kit.db import transaction
from vitrina_kit.service import build_app
from vitrina_kit.testing import (
    TestIssuer,
    app_client,
    migrated_database,
    read_topic,
    send_raw,
    wait_until,
)
from vitrina_kit.testing.database import query

SUBSCRIPTIONS = SubscriptionCreated.topic


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with tracing.exporting_to(InMemorySpanExporter()) as exporter:
        assert isinstance(exporter, InMemorySpanExporter)
        yield exporter


def _envelope(event: Event, *, owner: str, subject: uuid.UUID) -> CloudEvent:
    return build_envelope(
        event, source=f"/vitrina/{owner}", subject=str(subject), aggregate_version=1
    )


async def _projected(database_url: str, *sent: CloudEvent) -> bool:
    ids = sorted(str(each.id) for each in sent)
    rows = await query(
        database_url, "SELECT count(*) FROM inbox_messages WHERE event_id = ANY(:ids)", ids=ids
    )
    return bool(rows[0][0] == len(ids))


async def test_an_order_and_its_invoice_are_one_trace(
    make_database: Callable[[str], str],
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
    spans: InMemorySpanExporter,
) -> None:
    orders_db = migrated_database(make_database, orders.main.SERVICE)
    billing_db = migrated_database(make_database, billing.main.SERVICE)
    quick = {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_session_timeout_ms": 3000,
        "kafka_heartbeat_interval_ms": 1000,
        "kafka_fetch_max_wait_ms": 50,
    }
    orders_app = build_app(
        orders.main.SERVICE,
        OrdersSettings(database_url=orders_db, **quick),  # type: ignore[arg-type]
        with_workers=True,
        key_source=token_issuer.key_source,
    )
    billing_app = build_app(
        billing.main.SERVICE,
        BillingSettings(database_url=billing_db, **quick),  # type: ignore[arg-type]
        with_workers=True,
        key_source=token_issuer.key_source,
    )
    customer_id, product_id = uuid.uuid4(), uuid.uuid4()
    organization = OrganizationUpdated.example().organization.model_copy(
        update={"organization_id": customer_id}
    )
    plan = PlanSnapshot(
        plan_id=uuid.uuid4(),
        code="standard",
        name="Стандарт",
        billing_period="month",
        pricing_unit="seat",
        unit_price=Decimal("450.00"),
        vat_mode="standard",
    )
    product = ProductPublished.example().product.model_copy(
        update={"product_id": product_id, "plans": (plan,)}
    )
    known = [
        _envelope(
            OrganizationUpdated(organization=organization), owner="identity", subject=customer_id
        ),
        _envelope(ProductPublished(product=product), owner="catalog", subject=product_id),
    ]

    async with app_client(orders_app) as orders_api, app_client(billing_app):
        for each in known:  # what identity and the catalog told both, long before the order
            topic = OrganizationUpdated.topic if "identity" in each.type else ProductPublished.topic
            await send_raw(
                kafka_bootstrap, topic, [each.to_json_bytes()], key=each.subject.encode()
            )
        for database_url in (orders_db, billing_db):
            await wait_until(
                partial(_projected, database_url, *known), timeout=30, message="projections"
            )

        placed = await orders_api.post(
            "/orders",
            json={"lines": [{"plan_id": str(plan.plan_id), "quantity": 3}]},
            headers={
                **token_issuer.headers(customer_id, OrganizationKind.BUSINESS),
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        assert placed.status_code == 201, placed.text
        [issued] = await read_topic(kafka_bootstrap, "billing.invoices", expected=1, timeout=30)

    finished = spans.get_finished_spans()
    [request] = [s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST /orders"]
    assert _service(request) == "orders"
    trace_id = _ids(request)[0]

    # orders' relay sent the row under the request span that wrote it.
    [send] = _named(finished, f"send {SUBSCRIPTIONS}", kind=SpanKind.PRODUCER)
    assert _service(send) == "orders"
    assert _parent(send) == _ids(request)

    # billing's handler ran in a CONSUMER span whose parent is that same request span.
    [process] = _named(finished, f"process {SUBSCRIPTIONS}", kind=SpanKind.CONSUMER)
    assert _service(process) == "billing"
    assert process.attributes is not None
    assert process.attributes["messaging.consumer.group.name"] == "billing"
    assert process.attributes["cloudevents.event_type"] == SubscriptionCreated.event_type
    assert _parent(process) == _ids(request)
    # ...and its SQL (the inbox row, the invoice) under it, in billing's name.
    billing_sql = [s for s in finished if s.parent is not None and _parent(s) == _ids(process)]
    assert billing_sql
    assert {_service(s) for s in billing_sql} == {"billing"}

    # What billing wrote there carries billing's span onward, in the same trace.
    headers = dict(issued.headers)
    envelope = json.loads(issued.value or b"{}")
    assert envelope["type"] == "ru.vitrina.billing.invoice.issued"
    traceparent = headers["traceparent"].decode()
    assert envelope["traceparent"] == traceparent
    _version, traced, parent_span, flags = traceparent.split("-")
    assert (int(traced, 16), int(parent_span, 16)) == _ids(process)
    assert int(flags, 16) & 1  # sampled: the next service records its part too
    assert int(traced, 16) == trace_id
    # ...and billing's relay sent it under that span too.
    [billing_send] = _named(finished, "send billing.invoices", kind=SpanKind.PRODUCER)
    assert _parent(billing_send) == _ids(process)


async def test_a_period_close_batch_is_the_trace_of_its_closing_documents(
    make_database: Callable[[str], str], spans: InMemorySpanExporter
) -> None:
    """The close is a job, not a request: each batch is a trace of its own, linked to the run's
    span, and the closing_document.issued it writes carries it (on to integrations)."""
    settings = BillingSettings(database_url=migrated_database(make_database, billing.main.SERVICE))
    assert tracing.setup_tracing("billing", settings) is not None
    engine = db.create_engine(settings.database_url, pool_size=2)
    sessions = db.create_session_factory(engine)
    november = date(2025, 11, 3)
    try:
        customer_id, product = uuid.uuid4(), ProductPublished.example().product
        organization = OrganizationUpdated.example().organization.model_copy(
            update={"organization_id": customer_id}
        )
        subscription = SubscriptionSnapshot(
            subscription_id=uuid.uuid4(),
            customer_id=customer_id,
            partner_id=product.partner_id,
            product_id=product.product_id,
            plan_id=product.plans[0].plan_id,
            quantity=3,
            period_anchor=november,
            status="pending",
            effective_at=datetime.combine(november, time(9), tzinfo=UTC),
        )
        told: list[tuple[Event, uuid.UUID]] = [
            (OrganizationUpdated(organization=organization), customer_id),
            (ProductPublished(product=product), product.product_id),
            (SubscriptionCreated(subscription=subscription), subscription.subscription_id),
        ]
        active = subscription.model_copy(update={"status": "active"})
        told.append((SubscriptionActivated(subscription=active), subscription.subscription_id))
        for version, (event, subject) in enumerate(told, start=1):
            envelope = build_envelope(
                event,
                source="/vitrina/test",
                subject=str(subject),
                aggregate_version=version,
                time=datetime.combine(november, time(9), tzinfo=UTC),
            )
            async with transaction(sessions) as session:
                await BILLING_HANDLERS[type(event)](
                    session, Received(event, envelope, event.topic, 0, 0)
                )
        december = Period.month_of(date(2025, 12, 1))
        close = runs.RunRequest(runs.RunKind.PERIOD_CLOSE, december.last_day, december)
        await runs.execute(sessions, seller(settings), close)
    finally:
        await engine.dispose()

    written = [
        json.loads(row.payload)
        for row in await query(settings.database_url, "SELECT payload FROM outbox_messages")
    ]
    [traceparent] = [
        each["traceparent"]
        for each in written
        if each["type"] == "ru.vitrina.billing.closing_document.issued"
    ]
    finished = spans.get_finished_spans()
    [run] = _named(finished, "billing run period_close", kind=SpanKind.INTERNAL)
    [batch] = _named(finished, "billing run period_close batch", kind=SpanKind.INTERNAL)
    _version, traced, parent_span, _flags = traceparent.split("-")
    assert (int(traced, 16), int(parent_span, 16)) == _ids(batch)
    assert batch.parent is None  # a trace of its own...
    assert [link.context.span_id for link in batch.links] == [_ids(run)[1]]  # ...from the run
    assert _service(batch) == _service(run) == "billing"


def _named(finished: tuple[ReadableSpan, ...], name: str, *, kind: SpanKind) -> list[ReadableSpan]:
    return [s for s in finished if s.name == name and s.kind is kind]


def _service(span: ReadableSpan) -> object:
    return span.resource.attributes.get("service.name")


def _ids(span: ReadableSpan) -> tuple[int, int]:
    assert span.context is not None
    return span.context.trace_id, span.context.span_id


def _parent(span: ReadableSpan) -> tuple[int, int]:
    assert span.parent is not None
    return span.parent.trace_id, span.parent.span_id
