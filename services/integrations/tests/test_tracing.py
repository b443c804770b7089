"""The trace goes on past integrations' handlers, into the work its periodic jobs do later.

Real broker, PostgreSQL, and the 1C, EDO operator and partner simulators as HTTP servers:
billing's invoice.issued and closing_document.issued (their traceparent as billing's span
would write it) are handled in CONSUMER spans; the rows those handlers queue keep that span's
traceparent, and the 1C push, the EDO send and track and the webhook delivery each run in a
span whose parent it is — their calls to the simulators and their SQL beneath, the events they
write (edo_document.*) carrying that trace onward.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from vitrina_simulators import edo_operator, onec
from vitrina_simulators import partner as partner_simulator

from integrations.main import SERVICE
from integrations.settings import IntegrationsSettings
from vitrina_contracts.envelope import CloudEvent, build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.billing import ClosingDocumentIssued, InvoiceIssued
from vitrina_kit import tracing
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, migrated_database, send_raw, wait_until
from vitrina_kit.testing.database import query

ONEC_BASE, ONEC_LOGIN, ONEC_PASSWORD = "accounting", "odata", "s3cret"
OPERATOR_BOX = "2BM-7704123450-770401001-000000000000001"
BUYER_BOX = "2BM-5012345672-501201001-000000000000042"
SELLER_ID = InvoiceIssued.example().invoice.seller.organization_id
BUYER_ID = InvoiceIssued.example().invoice.buyer.organization_id


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with tracing.exporting_to(InMemorySpanExporter()) as exporter:
        assert isinstance(exporter, InMemorySpanExporter)
        yield exporter


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
def onec_server() -> Iterator[str]:
    with onec.running(onec.OneCConfig(users={ONEC_LOGIN: ONEC_PASSWORD}, base=ONEC_BASE)) as url:
        yield url


@pytest.fixture
def edo_server() -> Iterator[str]:
    config = edo_operator.SimulatorConfig(
        clients=[
            edo_operator.Client("vitrina", "operator-secret", OPERATOR_BOX),
            edo_operator.Client("romashka", "buyer-secret", BUYER_BOX),
        ],
        delivery_delay_seconds=0.2,
    )
    with edo_operator.running(config) as url:
        yield url


def upstream_traceparent() -> str:
    """What billing's span that issued a document would have written in its envelope."""
    return f"00-{random.getrandbits(128):032x}-{random.getrandbits(64):016x}-01"


def from_billing(event: Event, traceparent: str) -> CloudEvent:
    return build_envelope(
        event,
        source="/vitrina/billing",
        subject=event.aggregate_id(),
        aggregate_version=1,
        traceparent=traceparent,
    )


async def test_the_jobs_work_on_a_queued_row_continues_the_trace_that_queued_it(
    database_url: str,
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
    onec_server: str,
    edo_server: str,
    spans: InMemorySpanExporter,
) -> None:
    settings = IntegrationsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=1000,
        kafka_fetch_max_wait_ms=50,
        onec_sync_interval_seconds=0.2,
        onec_sync_retry_base_seconds=0.01,
        edo_send_interval_seconds=0.2,
        edo_track_interval_seconds=0.2,
        connector_timeout_seconds=2,
        webhook_allow_http=True,
        webhook_allowed_networks=["127.0.0.0/8"],
        webhook_dispatch_interval_seconds=0.2,
        webhook_timeout_seconds=2,
    )
    onec_root = onec.odata_root(onec_server, ONEC_BASE)
    invoice = InvoiceIssued(
        invoice=InvoiceIssued.example().invoice.model_copy(
            update={"document_id": uuid.uuid4(), "number": f"2025-{_serial()}"}
        )
    )
    example = ClosingDocumentIssued.example().document
    closing = ClosingDocumentIssued(
        document=example.model_copy(
            update={
                "document_id": uuid.uuid4(),
                "number": f"2025-{_serial()}",
                "buyer": example.buyer.model_copy(update={"edo_participant_id": BUYER_BOX}),
            }
        )
    )
    invoice_parent, closing_parent = upstream_traceparent(), upstream_traceparent()
    app = build_app(SERVICE, settings, with_workers=True, key_source=token_issuer.key_source)
    operator = token_issuer.headers(SELLER_ID, OrganizationKind.OPERATOR)
    buyer = token_issuer.headers(BUYER_ID, OrganizationKind.BUSINESS)
    with partner_simulator.running() as erp:
        async with app_client(app) as client:
            await _connect(client, operator, onec_root=onec_root, edo_server=edo_server)
            endpoint = await client.post(
                "/webhooks/endpoints",
                json={"url": erp.events_url, "event_types": ["invoice.issued"]},
                headers={**buyer, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert endpoint.status_code == 201, endpoint.text
            erp.secret = endpoint.json()["signing_secret"]

            invoice_sent = from_billing(invoice, invoice_parent)
            closing_sent = from_billing(closing, closing_parent)
            for event, sent in ((invoice, invoice_sent), (closing, closing_sent)):
                await send_raw(
                    kafka_bootstrap, event.topic, [sent.to_json_bytes()], key=sent.subject.encode()
                )

            async def done() -> bool:
                synced = await client.get(
                    "/onec/sync", params={"status": "synced"}, headers=operator
                )
                edo = await client.get("/edo/documents", headers=buyer)
                return (
                    len(synced.json()["items"]) == 2
                    and [item["status"] for item in edo.json()["items"]] == ["delivered"]
                    and len(erp.verified) == 1
                )

            await wait_until(done, timeout=40, message="1C, EDO and the webhook")
    finished = spans.get_finished_spans()

    # invoice.issued: the handler's span is a child of billing's; the 1C push and the webhook
    # delivery, done later by jobs, are children of the handler's span.
    handled = _one(finished, "process billing.invoices", "cloudevents.event_id", invoice_sent.id)
    assert _parent(handled) == _parsed(invoice_parent)
    push = _one(finished, "onec push", "vitrina.document_id", invoice.invoice.document_id)
    assert _parent(push) == _ids(handled)
    _assert_calls_and_sql_under(push, finished, onec_root)
    [delivery] = _children(finished, handled, "webhook deliver")
    _assert_calls_and_sql_under(delivery, finished, erp.events_url)

    # closing_document.issued: the same for its 1C push, and the EDO send...
    handled = _one(finished, "process billing.invoices", "cloudevents.event_id", closing_sent.id)
    assert _parent(handled) == _parsed(closing_parent)
    push = _one(finished, "onec push", "vitrina.document_id", closing.document.document_id)
    assert _parent(push) == _ids(handled)
    [sending] = _children(finished, handled, "edo send")
    _assert_calls_and_sql_under(sending, finished, f"{edo_server}/V3/PostMessage")
    # ...whose edo_document.sent carries the send's span; the buyer's answer joins the trace too.
    events = {e["type"].rsplit(".", 1)[-1]: e for e in await _outbox(database_url, closing)}
    assert _parsed(events["sent"]["traceparent"]) == _ids(sending)
    [tracking] = _children(finished, handled, "edo track")
    assert _parsed(events["delivered"]["traceparent"]) == _ids(tracking)
    assert {_service(s) for s in (push, delivery, sending, tracking)} == {"integrations"}


async def _connect(
    client: httpx.AsyncClient, operator: dict[str, str], *, onec_root: str, edo_server: str
) -> None:
    for connector in (
        {
            "kind": "onec_odata",
            "name": "1c",
            "endpoint_url": onec_root,
            "auth_method": "basic",
            "login": ONEC_LOGIN,
            "secrets": {"password": ONEC_PASSWORD},
            "options": {"organization_key": "5b0d1a3e-7c11-4f0e-9a3b-2d4c6e8f0a12"},
        },
        {
            "kind": "edo_operator",
            "name": "diadoc",
            "endpoint_url": edo_server,
            "auth_method": "oauth2_client_credentials",
            "token_url": f"{edo_server}/oauth/token",
            "login": "vitrina",
            "options": {"box_id": OPERATOR_BOX},
            "secrets": {"client_secret": "operator-secret"},
        },
    ):
        created = await client.post(
            "/connectors",
            json=connector,
            headers={**operator, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert created.status_code == 201, created.text


def _assert_calls_and_sql_under(
    span: ReadableSpan, finished: tuple[ReadableSpan, ...], url: str
) -> None:
    """The span's outbound HTTP calls (one to ``url`` at least) and its SQL are its children."""
    children = _children(finished, span)
    calls = [_url(s) for s in children if s.kind is SpanKind.CLIENT and _url(s)]
    assert any(call.startswith(url) for call in calls), (url, calls)
    sql = [s for s in children if s.attributes and "db.statement" in s.attributes]
    assert sql
    # (The HTTP calls' spans are in the name of the process's first service: httpx is
    # instrumented once per process.)
    assert {_service(s) for s in sql} == {"integrations"}


def _one(finished: tuple[ReadableSpan, ...], name: str, key: str, value: object) -> ReadableSpan:
    """The one span of ``name`` whose attribute ``key`` is ``value`` (other tests' events may
    be on the topic too)."""
    found = [
        s
        for s in finished
        if s.name == name and s.attributes is not None and s.attributes.get(key) == str(value)
    ]
    assert len(found) == 1, [s.name for s in found]
    return found[0]


def _children(
    finished: tuple[ReadableSpan, ...], parent: ReadableSpan, name: str | None = None
) -> list[ReadableSpan]:
    return [
        s
        for s in finished
        if s.parent is not None and _parent(s) == _ids(parent) and name in {None, s.name}
    ]


async def _outbox(database_url: str, closing: ClosingDocumentIssued) -> list[dict[str, Any]]:
    rows = await query(
        database_url,
        "SELECT payload FROM outbox_messages WHERE message_key = :subject ORDER BY id",
        subject=str(closing.document.document_id),
    )
    return [json.loads(row.payload) for row in rows]


def _url(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("url.full") or attributes.get("http.url") or "")


def _serial() -> str:
    return f"{uuid.uuid4().int % 1_000_000:06d}"


def _service(span: ReadableSpan) -> object:
    return span.resource.attributes.get("service.name")


def _ids(span: ReadableSpan) -> tuple[int, int]:
    assert span.context is not None
    return span.context.trace_id, span.context.span_id


def _parent(span: ReadableSpan) -> tuple[int, int]:
    assert span.parent is not None
    return span.parent.trace_id, span.parent.span_id


def _parsed(traceparent: str) -> tuple[int, int]:
    _version, trace_id, span_id, _flags = traceparent.split("-")
    return int(trace_id, 16), int(span_id, 16)
