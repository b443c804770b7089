"""The period close works in batches of customers: each batch one transaction taking one block
of numbers. Whatever fails or dies, documents stay exactly once, numbers gap-free, and every
customer is closed whole (document and event) or not at all."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.invoices import documents
from billing.invoices.documents import seller
from billing.invoices.domain import Period
from billing.organizations.models import Organization
from billing.runs import service as runs
from billing.settings import BillingSettings
from vitrina_contracts.events.billing import Party
from vitrina_contracts.events.orders import SubscriptionActivated
from vitrina_kit.testing.database import query, scalar

SELLER = seller(BillingSettings())
DECEMBER = Period.month_of(date(2025, 12, 1))
CLOSE = runs.RunRequest(runs.RunKind.PERIOD_CLOSE, DECEMBER.last_day, DECEMBER)
BATCHES_OF_THREE = runs.RunRules(close_batch=3)


class Crash(BaseException):
    """The process dying mid-run: no ``except Exception`` in the run stops it."""


async def customers_in_service(world: Any, count: int) -> list[uuid.UUID]:
    """``count`` customers, each with a subscription in service all December; in the order
    the run works on them."""
    product = await world.product()
    customers = []
    for _ in range(count):
        customer = await world.customer()
        created = await world.subscribe(customer, product, starts_on=date(2025, 11, 3))
        active = created.model_copy(
            update={
                "status": "active",
                "effective_at": datetime.combine(date(2025, 11, 3), time(9), tzinfo=UTC),
            }
        )
        await world.deliver(
            SubscriptionActivated(subscription=active),
            subject=created.subscription_id,
            on=date(2025, 11, 3),
        )
        customers.append(customer)
    return sorted(customers)


def failing_for(monkeypatch: pytest.MonkeyPatch, victim: uuid.UUID, error: BaseException) -> None:
    """Make closing ``victim`` raise ``error`` once its month is priced (its buyer is read)."""
    buyer = documents.buyer

    def failing(organization: Organization | None, customer_id: uuid.UUID) -> Party:
        if customer_id == victim:
            raise error
        return buyer(organization, customer_id)

    monkeypatch.setattr(documents, "buyer", failing)


async def closed(database_url: str) -> list[Any]:
    """Closing documents in number order, each with how many events it has in the outbox."""
    return await query(
        database_url,
        "SELECT d.number, d.customer_id,"
        " (SELECT count(*) FROM outbox_messages o WHERE o.message_key = d.document_id::text)"
        " AS events"
        " FROM closing_documents d ORDER BY d.number",
    )


def numbers(count: int) -> list[str]:
    return [f"УПД-2025-{n:06d}" for n in range(1, count + 1)]


async def counter(database_url: str) -> int | None:
    value = await scalar(
        database_url,
        "SELECT last_sequence FROM document_counters WHERE kind = 'closing_document'",
    )
    return None if value is None else int(value)


async def test_a_failing_customer_rolls_back_its_batch_and_only_it_is_left_out(
    world: Any,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customers = await customers_in_service(world, 7)
    victim = customers[4]  # in the second batch of three
    failing_for(monkeypatch, victim, RuntimeError("the buyer could not be read"))

    first = await runs.execute(sessions, SELLER, CLOSE, concurrency=1, rules=BATCHES_OF_THREE)

    assert (first.documents_issued, first.customers_skipped) == (6, 1)
    assert first.skipped == [{"customer_id": str(victim), "reason": "failed: RuntimeError"}]
    rows = await closed(database_url)
    assert [row.number for row in rows] == numbers(6)  # the rolled-back batch left no gap
    assert {row.customer_id for row in rows} == set(customers) - {victim}
    assert {row.events for row in rows} == {1}
    assert await counter(database_url) == 6

    monkeypatch.undo()
    again = await runs.execute(sessions, SELLER, CLOSE, concurrency=1, rules=BATCHES_OF_THREE)

    assert (again.documents_issued, again.customers_skipped) == (1, 0)
    rows = await closed(database_url)
    assert [row.number for row in rows] == numbers(7)
    assert rows[-1].customer_id == victim
    assert {row.events for row in rows} == {1}


async def test_a_run_dying_mid_batch_leaves_whole_batches_and_the_next_run_completes(
    world: Any,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customers = await customers_in_service(world, 7)
    failing_for(monkeypatch, customers[4], Crash())

    with pytest.raises(Crash):
        await runs.execute(sessions, SELLER, CLOSE, concurrency=1, rules=BATCHES_OF_THREE)

    # The first batch committed; the second died before its commit: none of it is there,
    # not its first customer's document, not the numbers it had taken.
    rows = await closed(database_url)
    assert [row.number for row in rows] == numbers(3)
    assert [row.customer_id for row in rows] == customers[:3]
    assert {row.events for row in rows} == {1}
    assert await counter(database_url) == 3

    monkeypatch.undo()
    rerun = await runs.execute(sessions, SELLER, CLOSE, concurrency=2, rules=BATCHES_OF_THREE)

    assert (rerun.customers, rerun.documents_issued) == (4, 4)
    rows = await closed(database_url)
    assert [row.number for row in rows] == numbers(7)
    assert sorted(row.customer_id for row in rows) == customers
    assert {row.events for row in rows} == {1}
    assert await counter(database_url) == 7


async def test_two_replicas_closing_at_once_issue_each_document_once(
    world: Any, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    customers = await customers_in_service(world, 8)

    results = await asyncio.gather(
        *(
            runs.execute(sessions, SELLER, CLOSE, concurrency=2, rules=BATCHES_OF_THREE)
            for _ in range(3)
        )
    )

    assert sum(result.documents_issued for result in results) == 8
    assert all(result.customers_skipped == 0 for result in results)
    rows = await closed(database_url)
    assert [row.number for row in rows] == numbers(8)
    assert sorted(row.customer_id for row in rows) == customers
    assert {row.events for row in rows} == {1}
