"""Partners' monthly settlements over the real database and API."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.invoices.documents import seller
from billing.runs import service as runs
from billing.settings import BillingSettings
from vitrina_contracts.events.orders import SubscriptionActivated, SubscriptionCancelled
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.testing import TestIssuer
from vitrina_kit.testing.database import scalar

SELLER = seller(BillingSettings())
DECEMBER = date(2025, 12, 1)


def at(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=UTC)


def request(kind: runs.RunKind, on: date) -> runs.RunRequest:
    return runs.RunRequest(kind, on, runs.run_period(kind, on, today=date(2030, 1, 1)))


async def subscribed(world: Any, customer: uuid.UUID, product: Any, seats: int) -> Any:
    created = await world.subscribe(customer, product, starts_on=DECEMBER, quantity=seats)
    active = created.model_copy(update={"status": "active", "effective_at": at(DECEMBER)})
    await world.deliver(
        SubscriptionActivated(subscription=active), subject=created.subscription_id, on=DECEMBER
    )
    return active


async def test_a_month_settles_each_partner_once_with_its_commission(
    world: Any,
    sessions: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    operator: dict[str, str],
    token_issuer: TestIssuer,
    outbox: Any,
    database_url: str,
) -> None:
    first_partner, second_partner = uuid.uuid4(), uuid.uuid4()
    boards = await world.product(unit_price="450.00", partner_id=first_partner)
    backups = await world.product(unit_price="1000.00", partner_id=first_partner)
    antivirus = await world.product(unit_price="300.00", partner_id=second_partner)
    own = await world.product(unit_price="100.00", partner_id=SELLER.organization_id)
    one, two, three = await world.customer(), await world.customer(), await world.customer()
    await subscribed(world, one, boards, 10)
    await subscribed(world, one, own, 1)
    cancelled = await subscribed(world, two, backups, 2)
    stopped = cancelled.model_copy(
        update={"status": "cancelled", "effective_at": at(date(2025, 12, 16))}
    )
    await world.deliver(
        SubscriptionCancelled(subscription=stopped, mode="immediate"),
        subject=cancelled.subscription_id,
        on=date(2025, 12, 16),
    )
    await subscribed(world, three, antivirus, 5)
    rates = f"/commission-rates/{first_partner}"
    assert (await client.put(rates, json={"percent": "15.00"}, headers=operator)).status_code == 200
    override = await client.put(
        f"/commission-rates/products/{backups.product_id}",
        json={"percent": "10"},
        headers=operator,
    )
    assert override.json() == {
        "partner_id": str(first_partner),
        "default_percent": "15.00",
        "per_product": {str(backups.product_id): "10.00"},
    }
    await runs.execute(sessions, SELLER, request(runs.RunKind.PERIOD_CLOSE, date(2025, 12, 31)))

    settled = await client.post(
        "/billing-runs",
        json={"kind": "settlements", "date": "2025-12-31"},
        headers={**operator, "Idempotency-Key": uuid.uuid4().hex},
    )
    again = await asyncio.gather(
        *(
            runs.execute(sessions, SELLER, request(runs.RunKind.SETTLEMENTS, date(2025, 12, 1)))
            for _ in range(2)
        )
    )

    assert settled.status_code == 201, settled.text
    assert (settled.json()["customers"], settled.json()["documents_issued"]) == (2, 2)
    assert [run.documents_issued for run in again] == [0, 0]
    issued = {e["data"]["partner_id"]: e["data"] for e in await outbox.events("settlement.issued")}
    assert set(issued) == {str(first_partner), str(second_partner)}  # not the operator's own
    first = issued[str(first_partner)]
    # Boards: all December at 15%; backups: the 15 days rendered before the cancellation (the
    # credit note corrected the invoice for days never rendered, so it is not subtracted).
    assert sorted((line["gross_sales"], line["commission"]) for line in first["lines"]) == [
        ("4500.00", "675.00"),
        ("967.74", "96.77"),
    ]
    assert (first["gross_sales"], first["commission"], first["payout"]) == (
        "5467.74",
        "771.77",
        "4695.97",
    )
    assert (first["period_start"], first["period_end"]) == ("2025-12-01", "2025-12-31")
    second = issued[str(second_partner)]
    assert (second["gross_sales"], second["commission"]) == ("1500.00", "300.00")  # default 20%
    assert sorted(d["number"] for d in issued.values()) == ["АО-2025-000001", "АО-2025-000002"]
    assert await scalar(database_url, "SELECT count(*) FROM settlements") == 2

    mine = token_issuer.headers(first_partner, OrganizationKind.PARTNER)
    theirs = token_issuer.headers(second_partner, OrganizationKind.PARTNER)
    business = token_issuer.headers(one, OrganizationKind.BUSINESS)
    [own_settlement] = (await client.get("/settlements", headers=mine)).json()["items"]
    assert own_settlement["payout"] == "4695.97"
    path = f"/settlements/{own_settlement['settlement_id']}"
    assert (await client.get(path, headers=mine)).status_code == 200
    assert (await client.get(path, headers=theirs)).status_code == 404
    assert (await client.get("/settlements", headers=business)).json()["items"] == []
    assert len((await client.get("/settlements", headers=operator)).json()["items"]) == 2
    assert (await client.get(rates, headers=mine)).json()["default_percent"] == "15.00"
    assert (await client.get(rates, headers=theirs)).status_code == 404


async def test_commission_rates_are_the_operators_within_limits(
    world: Any, client: httpx.AsyncClient, operator: dict[str, str], token_issuer: TestIssuer
) -> None:
    partner = uuid.uuid4()
    path = f"/commission-rates/{partner}"
    for percent in ("100.01", "-1", "12.345"):
        refused = await client.put(path, json={"percent": percent}, headers=operator)
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_commission_rate")
    own = token_issuer.headers(partner, OrganizationKind.PARTNER)
    assert (await client.put(path, json={"percent": "1"}, headers=own)).status_code == 403
    unknown = await client.put(
        f"/commission-rates/products/{uuid.uuid4()}", json={"percent": "5"}, headers=operator
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "product_not_found")
    assert (await client.get(path, headers=operator)).json()["default_percent"] == "20.00"
    month = await client.post(
        "/billing-runs",
        json={"kind": "settlements", "date": "2099-01-31"},
        headers={**operator, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert (month.status_code, month.json()["code"]) == (422, "period_not_over")
    unclosed = await client.post(
        "/billing-runs",
        json={"kind": "settlements", "date": "2025-10-31"},
        headers={**operator, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert (unclosed.status_code, unclosed.json()["code"]) == (409, "period_not_closed")
