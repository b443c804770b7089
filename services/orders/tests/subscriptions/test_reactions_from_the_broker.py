"""Billing's and integrations' events reaching a running orders worker through the real broker:
payment activates, an overdue invoice suspends once its grace is over (the worker's scheduler
decides when), payment resumes, the partner's answer is shown to the customer; told twice,
nothing happens twice."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from orders.main import SERVICE
from orders.settings import OrdersSettings
from vitrina_contracts.envelope import CloudEvent, build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.billing import InvoiceOverdue, InvoicePaid
from vitrina_contracts.events.integrations import PartnerResponse, ProvisioningSucceeded
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, send_raw, wait_until
from vitrina_kit.testing.database import query


def envelope(event: Event, *, owner: str) -> CloudEvent:
    return build_envelope(
        event, source=f"/vitrina/{owner}", subject=event.aggregate_id(), aggregate_version=1
    )


async def publish(bootstrap: str, *sent: CloudEvent) -> None:
    """To the event's topic, keyed by its aggregate, as its owner's relay does."""
    for each in sent:
        event_topic = "billing.invoices" if "billing" in each.type else "integrations.provisioning"
        await send_raw(bootstrap, event_topic, [each.to_json_bytes()], key=each.subject.encode())


async def consumed(database_url: str, *sent: CloudEvent) -> bool:
    ids = sorted({str(each.id) for each in sent})
    rows = await query(
        database_url, "SELECT count(*) FROM inbox_messages WHERE event_id = ANY(:ids)", ids=ids
    )
    return bool(rows[0][0] == len(ids))


async def test_payment_dunning_and_provisioning_arrive_through_the_broker(
    database_url: str,
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
    customer: dict[str, str],
    customer_id: uuid.UUID,
    seed: Any,
    outbox: Any,
) -> None:
    await seed.buyer(organization_id=customer_id)
    product = await seed.product()
    settings = OrdersSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=1000,
        kafka_fetch_max_wait_ms=50,
        scheduler_interval_seconds=0.2,
        suspension_grace_days=10,
    )
    app = build_app(SERVICE, settings, with_workers=True, key_source=token_issuer.key_source)

    async with app_client(app) as client:

        async def state() -> dict[str, Any]:
            response = await client.get(f"/subscriptions/{subscription_id}", headers=customer)
            body: dict[str, Any] = response.json()
            return body

        async def until(what: str, check: Any) -> dict[str, Any]:
            async def holds() -> bool:
                return bool(check(await state()))

            await wait_until(holds, timeout=30, message=what)
            return await state()

        async def delivered(*sent: CloudEvent) -> None:
            await publish(kafka_bootstrap, *sent)
            await wait_until(
                lambda: consumed(database_url, *sent), timeout=30, message="orders to consume"
            )

        placed = await client.post(
            "/orders",
            json={"lines": [{"plan_id": str(product.plans[0].plan_id), "quantity": 5}]},
            headers={**customer, "Idempotency-Key": "first"},
        )
        assert placed.status_code == 201, placed.text
        subscription_id = uuid.UUID(placed.json()["lines"][0]["subscription_id"])

        first_invoice = seed.invoice(subscription_id)
        paid = envelope(
            InvoicePaid(invoice=first_invoice, paid_at=datetime.now(UTC)), owner="billing"
        )
        await publish(kafka_bootstrap, paid)
        activated = await until("payment to activate", lambda s: s["status"] == "active")

        answer = ProvisioningSucceeded.example().model_copy(
            update={
                "subscription_id": subscription_id,
                "response": PartnerResponse(status_code=200, body="Аккаунт acc-42 готов"),
            }
        )
        await publish(kafka_bootstrap, envelope(answer, owner="integrations"))
        provisioned = await until("the partner's answer", lambda s: s["provisioning"] is not None)
        assert provisioned["provisioning"]["outcome"] == "succeeded"
        assert provisioned["provisioning"]["message"] == "Аккаунт acc-42 готов"
        assert provisioned["version"] == activated["version"] + 1

        # Overdue, but within its grace period: the scheduler leaves it alone for now.
        recent = seed.invoice(subscription_id, due_on=date.today())
        overdue_recently = envelope(
            InvoiceOverdue(invoice=recent, amount_due=recent.amount_total), owner="billing"
        )
        await delivered(overdue_recently)
        await wait_until(
            lambda: _scheduler_ran_after(database_url, recent.document_id),
            timeout=10,
            message="a scheduler round",
        )
        assert (await state())["status"] == "active"

        # Overdue past its grace: the worker's scheduler suspends.
        old = seed.invoice(subscription_id, due_on=date.today() - timedelta(days=11))
        overdue = envelope(
            InvoiceOverdue(invoice=old, amount_due=old.amount_total), owner="billing"
        )
        await publish(kafka_bootstrap, overdue)
        suspended = await until("dunning to suspend", lambda s: s["status"] == "suspended")
        assert suspended["suspension_reason"] == "non_payment"

        # The same notice again, redelivered and re-sent under a new id: nothing more happens.
        again = envelope(InvoiceOverdue(invoice=old, amount_due=old.amount_total), owner="billing")
        await delivered(overdue, again)
        assert (await state())["version"] == suspended["version"]

        # Paying the old invoice lifts the suspension (the recent one is still within grace).
        paid_late = envelope(InvoicePaid(invoice=old, paid_at=datetime.now(UTC)), owner="billing")
        await publish(kafka_bootstrap, paid_late)
        resumed = await until("payment to resume", lambda s: s["status"] == "active")
        paid_again = envelope(InvoicePaid(invoice=old, paid_at=datetime.now(UTC)), owner="billing")
        await delivered(paid_late, paid_again, paid)
        assert (await state())["version"] == resumed["version"]

    assert await outbox.types(subject=subscription_id) == [
        "subscription.created",
        "subscription.activated",
        "subscription.suspended",
        "subscription.resumed",
    ]


async def _scheduler_ran_after(database_url: str, invoice_id: uuid.UUID) -> bool:
    """Whether the overdue notice is recorded and the scheduler has had a round since: a
    round's effect on a not-yet-due invoice is nothing, so the wait is for time to pass."""
    rows = await query(
        database_url,
        "SELECT overdue_at FROM dunning_invoices WHERE invoice_id = :id",
        id=invoice_id,
    )
    return bool(rows) and rows[0][0] < datetime.now(UTC) - timedelta(seconds=1)
