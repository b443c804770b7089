"""The dunning check over the real database, with time moved by runs for a given day."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.dunning.domain import DunningPolicy
from billing.dunning.service import dunning_check
from billing.invoices.documents import seller
from billing.runs import service as runs
from billing.settings import BillingSettings
from vitrina_kit.testing.database import query

SELLER = seller(BillingSettings())
POLICY = DunningPolicy(reminder_offsets=(1, 5, 10), grace_days=10)
RULES = runs.RunRules(dunning=POLICY)


async def dun(sessions: async_sessionmaker[AsyncSession], on: date) -> runs.BillingRun:
    request = runs.RunRequest(
        runs.RunKind.DUNNING, on, runs.run_period(runs.RunKind.DUNNING, on, today=date(2030, 1, 1))
    )
    return await runs.execute(sessions, SELLER, request, rules=RULES)


async def notices(database_url: str) -> list[tuple[str, int, date, bool]]:
    rows = await query(
        database_url,
        "SELECT kind, offset_days, noticed_on, sent FROM dunning_notices"
        " ORDER BY noticed_on, kind, offset_days",
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def test_an_unpaid_invoice_goes_overdue_is_reminded_and_suspension_is_asked_once(
    world: Any, outbox: Any, database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer, product = await world.customer(), await world.product()
    await world.subscribe(customer, product, starts_on=date(2025, 12, 1))  # due 6 December
    paying = await world.customer()
    await world.subscribe(paying, product, starts_on=date(2025, 12, 1))
    number = (await outbox.events("invoice.issued"))[1]["data"]["invoice"]["number"]
    await world.pay(paying, "5400.00", f"Оплата по счёту № {number}", on=date(2025, 12, 4))

    on_due_date = await dun(sessions, date(2025, 12, 6))
    assert (on_due_date.customers, on_due_date.documents_issued) == (0, 0)
    next_day = await dun(sessions, date(2025, 12, 7))
    assert (next_day.customers, next_day.documents_issued) == (1, 1)
    await dun(sessions, date(2025, 12, 7))
    await dun(sessions, date(2025, 12, 15))  # nine days: the fifth day's reminder, once
    await dun(sessions, date(2025, 12, 16))  # ten days: the last reminder, grace over
    await dun(sessions, date(2025, 12, 20))

    [overdue] = await outbox.events("invoice.overdue")
    assert overdue["data"]["amount_due"] == "5400.00"
    assert overdue["data"]["invoice"]["due_on"] == "2025-12-06"
    assert overdue["aggregateversion"] == 2
    assert await notices(database_url) == [
        ("overdue", 0, date(2025, 12, 7), True),
        ("reminder", 1, date(2025, 12, 7), True),
        ("reminder", 5, date(2025, 12, 15), True),
        ("reminder", 10, date(2025, 12, 16), True),
        ("suspension", 10, date(2025, 12, 16), True),
    ]
    [(status,)] = await query(
        database_url, "SELECT status FROM invoices WHERE customer_id = :c", c=customer
    )
    assert status == "overdue"

    # Paid late: invoice.paid (orders resumes), and dunning leaves it alone from then on.
    late = (await outbox.events("invoice.issued"))[0]["data"]["invoice"]["number"]
    await world.pay(customer, "5400.00", f"Оплата по счёту № {late}", on=date(2025, 12, 21))
    [paid] = [
        e for e in await outbox.events("invoice.paid") if e["data"]["invoice"]["number"] == late
    ]
    assert paid["aggregateversion"] == 3
    assert (await dun(sessions, date(2025, 12, 30))).customers == 0


async def test_a_late_check_reminds_once_and_replicas_do_each_step_once(
    world: Any, outbox: Any, database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    product = await world.product()
    for _ in range(6):
        await world.subscribe(await world.customer(), product, starts_on=date(2025, 12, 1))

    results = await asyncio.gather(
        *(
            dunning_check(sessions, on=date(2025, 12, 14), policy=POLICY, batch_size=2)
            for _ in range(3)
        )
    )

    assert sum(result.marked_overdue for result in results) == 6
    assert sum(result.reminders for result in results) == 6  # the fifth day's only
    assert len(await outbox.events("invoice.overdue")) == 6
    kinds = [(kind, offset, sent) for kind, offset, _, sent in await notices(database_url)]
    assert sorted(set(kinds)) == [
        ("overdue", 0, True),
        ("reminder", 1, False),
        ("reminder", 5, True),
    ]
    assert len(kinds) == 18


async def test_the_operator_runs_dunning_for_a_day_but_not_a_future_one(
    world: Any, client: httpx.AsyncClient, operator: dict[str, str], outbox: Any
) -> None:
    customer, product = await world.customer(), await world.product()
    await world.subscribe(customer, product, starts_on=date(2025, 12, 1))

    done = await client.post(
        "/billing-runs",
        json={"kind": "dunning", "date": "2025-12-08"},
        headers={**operator, "Idempotency-Key": uuid.uuid4().hex},
    )
    future = await client.post(
        "/billing-runs",
        json={"kind": "dunning", "date": "2099-01-01"},
        headers={**operator, "Idempotency-Key": uuid.uuid4().hex},
    )

    assert done.status_code == 201, done.text
    assert (done.json()["kind"], done.json()["documents_issued"]) == ("dunning", 1)
    assert len(await outbox.events("invoice.overdue")) == 1
    assert (future.status_code, future.json()["code"]) == (422, "period_in_future")
