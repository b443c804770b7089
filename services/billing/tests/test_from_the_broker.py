"""Billing's worker on the real broker: identity's, the catalog's and orders' events come in,
an invoice goes out; a bank statement line comes in, the payment and the paid invoice go out;
the same line imported again is counted once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from billing.main import SERVICE
from billing.settings import BillingSettings
from vitrina_contracts.envelope import CloudEvent, build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.catalog import PlanSnapshot, ProductPublished
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_contracts.events.integrations import BankPaymentImported
from vitrina_contracts.events.orders import SubscriptionCreated
from vitrina_contracts.registry import event_class
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, read_topic, send_raw, wait_until
from vitrina_kit.testing.database import query, scalar


def envelope(event: Event, *, owner: str, subject: uuid.UUID) -> CloudEvent:
    return build_envelope(
        event, source=f"/vitrina/{owner}", subject=str(subject), aggregate_version=1
    )


async def publish(bootstrap: str, *sent: CloudEvent) -> None:
    """To the event's topic, keyed by its aggregate, as its owner's outbox relay does."""
    for each in sent:
        event = event_class(each.type)
        assert event is not None
        await send_raw(bootstrap, event.topic, [each.to_json_bytes()], key=each.subject.encode())


async def events_on(
    bootstrap: str, topic: str, *, expected: int, timeout: float = 30
) -> list[dict[str, Any]]:
    records = await read_topic(bootstrap, topic, expected=expected, timeout=timeout)
    return [json.loads(record.value) for record in records if record.value is not None]


async def test_invoices_and_payments_travel_through_the_broker(
    database_url: str, kafka_bootstrap: str, token_issuer: TestIssuer
) -> None:
    customer_id, product_id, subscription_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    today = datetime.now(UTC)
    organization = OrganizationUpdated.example().organization.model_copy(
        update={"organization_id": customer_id}
    )
    example = ProductPublished.example().product
    plan = PlanSnapshot(
        plan_id=uuid.uuid4(),
        code="standard",
        name="Стандарт",
        billing_period="month",
        pricing_unit="seat",
        unit_price=Decimal("450.00"),
        vat_mode="standard",
    )
    product = example.model_copy(update={"product_id": product_id, "plans": (plan,)})
    subscription = SubscriptionCreated.example().subscription.model_copy(
        update={
            "subscription_id": subscription_id,
            "customer_id": customer_id,
            "partner_id": product.partner_id,
            "product_id": product_id,
            "plan_id": plan.plan_id,
            "quantity": 10,
            "period_anchor": today.date(),
            "status": "pending",
            "effective_at": today,
        }
    )
    settings = BillingSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=1000,
        kafka_fetch_max_wait_ms=50,
    )
    app = build_app(SERVICE, settings, with_workers=True, key_source=token_issuer.key_source)

    async with app_client(app):
        # The projections first (as they would be long before an order), then the order.
        await publish(
            kafka_bootstrap,
            envelope(
                OrganizationUpdated(organization=organization),
                owner="identity",
                subject=customer_id,
            ),
            envelope(ProductPublished(product=product), owner="catalog", subject=product_id),
        )
        await wait_until(
            lambda: _known(database_url, customer_id, product_id), timeout=30, message="projections"
        )
        await publish(
            kafka_bootstrap,
            envelope(
                SubscriptionCreated(subscription=subscription),
                owner="orders",
                subject=subscription_id,
            ),
        )
        [issued] = await events_on(kafka_bootstrap, "billing.invoices", expected=1)
        assert issued["type"] == "ru.vitrina.billing.invoice.issued"
        invoice = issued["data"]["invoice"]
        assert invoice["lines"][0]["subscription_id"] == str(subscription_id)

        line = BankPaymentImported.example().bank_payment.model_copy(
            update={
                "bank_payment_id": uuid.uuid4(),
                "number": "4242",
                "paid_on": today.date(),
                "amount": Decimal(invoice["amount_total"]),
                "payer_inn": organization.inn,
                "payer_kpp": organization.kpp,
                "purpose": f"Оплата по счёту № {invoice['number']}, в т.ч. НДС",
            }
        )
        imported = envelope(
            BankPaymentImported(bank_payment=line),
            owner="integrations",
            subject=line.bank_payment_id,
        )
        again = envelope(
            BankPaymentImported(bank_payment=line),
            owner="integrations",
            subject=line.bank_payment_id,
        )
        reimported = line.model_copy(update={"bank_payment_id": uuid.uuid4()})
        third = envelope(
            BankPaymentImported(bank_payment=reimported),
            owner="integrations",
            subject=reimported.bank_payment_id,
        )
        await publish(kafka_bootstrap, imported, again, third)

        invoices = await events_on(kafka_bootstrap, "billing.invoices", expected=2)
        assert [e["type"].rsplit(".", 2)[-2:] for e in invoices] == [
            ["invoice", "issued"],
            ["invoice", "paid"],
        ]
        payments = await events_on(kafka_bootstrap, "billing.payments", expected=2)
        assert [e["type"] for e in payments] == [
            "ru.vitrina.billing.payment.received",
            "ru.vitrina.billing.payment.allocated",
        ]
        paid = invoices[1]["data"]
        assert paid["payment_ids"] == [payments[0]["data"]["payment"]["payment_id"]]
        await wait_until(
            lambda: _consumed(database_url, imported, again, third), timeout=30, message="inbox"
        )
        assert await scalar(database_url, "SELECT count(*) FROM payments") == 1
        # Nothing more is published once all three are consumed (the relay polls every 50 ms).
        later = await events_on(kafka_bootstrap, "billing.payments", expected=3, timeout=2)
        assert len(later) == 2


async def _known(database_url: str, customer_id: uuid.UUID, product_id: uuid.UUID) -> bool:
    rows = await query(
        database_url,
        "SELECT (SELECT count(*) FROM organizations WHERE organization_id = :c)"
        " + (SELECT count(*) FROM catalog_products WHERE product_id = :p)",
        c=customer_id,
        p=product_id,
    )
    return bool(rows[0][0] == 2)


async def _consumed(database_url: str, *sent: CloudEvent) -> bool:
    ids = sorted({str(each.id) for each in sent})
    rows = await query(
        database_url, "SELECT count(*) FROM inbox_messages WHERE event_id = ANY(:ids)", ids=ids
    )
    return bool(rows[0][0] == len(ids))
