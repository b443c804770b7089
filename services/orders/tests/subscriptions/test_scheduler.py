"""The scheduler with several replicas at once: every due subscription is advanced once, every
overdue invoice past its grace acted on once, and nothing is announced twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.subscriptions import reactions
from orders.subscriptions.scheduler import apply_due
from vitrina_kit.db import transaction
from vitrina_kit.testing.database import query


async def test_replicas_share_the_due_work_and_never_repeat_it(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    customer_id: uuid.UUID,
    seed: Any,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
) -> None:
    await seed.buyer(organization_id=customer_id)
    product = await seed.product(plans=tuple(seed.plan(name=f"Тариф {n}") for n in range(12)))
    placed = await client.post(
        "/orders",
        json={"lines": [{"plan_id": str(plan.plan_id), "quantity": 1} for plan in product.plans]},
        headers={**customer, "Idempotency-Key": "many"},
    )
    assert placed.status_code == 201, placed.text
    ids = [uuid.UUID(line["subscription_id"]) for line in placed.json()["lines"]]
    await seed.paid(*ids)
    to_cancel, to_dun = ids[:6], ids[6:]
    for subscription_id in to_cancel:
        response = await client.post(f"/subscriptions/{subscription_id}/cancel", headers=customer)
        assert response.status_code == 200, response.text
    overdue = seed.invoice(*to_dun, due_on=date.today() - timedelta(days=30))
    async with transaction(sessions) as session:
        await reactions.invoice_overdue(
            session, overdue, amount_due=overdue.amount_total, at=datetime.now(UTC)
        )

    far = datetime.now(UTC) + timedelta(days=400)
    rounds = await asyncio.gather(
        *(apply_due(sessions, to=far, grace_days=10, batch_size=2) for _ in range(3))
    )

    assert sum(applied.advanced for applied in rounds) == len(to_cancel)
    assert sum(applied.dunned for applied in rounds) == len(to_dun)
    statuses = await query(
        database_url,
        "SELECT subscription_id, status, next_due_at FROM subscriptions"
        " WHERE subscription_id = ANY(:ids)",
        ids=ids,
    )
    by_id = {row.subscription_id: (row.status, row.next_due_at) for row in statuses}
    assert all(by_id[s] == ("cancelled", None) for s in to_cancel)
    assert all(by_id[s][0] == "suspended" for s in to_dun)
    suspensions = await query(
        database_url,
        "SELECT count(*) FROM outbox_messages WHERE event_type LIKE '%subscription.suspended'",
    )
    assert suspensions[0][0] == len(to_dun)
    assert (await apply_due(sessions, to=far, grace_days=10, batch_size=2)).dunned == 0
