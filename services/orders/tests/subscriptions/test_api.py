"""Subscriptions through the API over a real PostgreSQL: who sees what, the customer's commands
with their conflicts, the operator's, and moving the calendar on."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.catalog.repository import offered_plans
from orders.subscriptions import repository
from orders.subscriptions.domain import SubscriptionVersionConflict
from vitrina_kit.testing import TestIssuer
from vitrina_kit.testing.database import scalar


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], plan_id: uuid.UUID, quantity: int = 10
) -> uuid.UUID:
    response = await client.post(
        "/orders",
        json={"lines": [{"plan_id": str(plan_id), "quantity": quantity}]},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["lines"][0]["subscription_id"])


async def command(
    client: httpx.AsyncClient,
    subscription_id: uuid.UUID,
    action: str,
    headers: dict[str, str],
    *,
    expect: int = 200,
    if_match: int | None = None,
    **body: Any,
) -> dict[str, Any]:
    if if_match is not None:
        headers = {**headers, "If-Match": f'"{if_match}"'}
    response = await client.post(
        f"/subscriptions/{subscription_id}/{action}", json=body or None, headers=headers
    )
    assert response.status_code == expect, response.text
    if expect == 200:
        assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
async def active(
    client: httpx.AsyncClient, customer: dict[str, str], customer_id: uuid.UUID, seed: Any
) -> tuple[uuid.UUID, Any]:
    """An active subscription of the customer for 10 seats of a plan allowing 1 to 100, and its
    product (plans: that one, a dearer one, a private one)."""
    await seed.buyer(organization_id=customer_id)
    product = await seed.product(
        plans=(
            seed.plan(),
            seed.plan(name="Про", unit_price="900.00"),
            seed.plan(name="Спец", public=False),
        )
    )
    subscription_id = await subscribe(client, customer, product.plans[0].plan_id)
    await seed.paid(subscription_id)
    return subscription_id, product


async def test_each_caller_sees_its_own_the_partner_its_products_the_operator_all(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    customer_id: uuid.UUID,
    partner: dict[str, str],
    partner_id: uuid.UUID,
    operator: dict[str, str],
    token_issuer: TestIssuer,
    seed: Any,
) -> None:
    await seed.buyer(organization_id=customer_id)
    ours = await seed.product(partner_id=partner_id)
    theirs = await seed.product()
    mine = [await subscribe(client, customer, ours.plans[0].plan_id, n) for n in (1, 2, 3)]
    await seed.paid(mine[0])
    stranger_id = await seed.buyer()
    stranger = token_issuer.headers(stranger_id, "business")
    strangers = await subscribe(client, stranger, theirs.plans[0].plan_id)

    async def listed(headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {"limit": "2", **params} | ({"cursor": cursor} if cursor else {})
            response = await client.get("/subscriptions", params=query, headers=headers)
            assert response.status_code == 200, response.text
            items += response.json()["items"]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return items

    own = await listed(customer)
    assert [item["subscription_id"] for item in own] == [str(s) for s in mine]
    assert {item["view"] for item in own} == {"customer"}
    active = await listed(customer, status="active")
    assert [item["subscription_id"] for item in active] == [str(mine[0])]

    to_partner = await listed(partner)
    assert [item["subscription_id"] for item in to_partner] == [str(s) for s in mine]
    assert {item["view"] for item in to_partner} == {"partner"}
    assert "order_id" not in to_partner[0]
    assert "suspension_reason" not in to_partner[0]
    assert to_partner[0]["customer_id"] == str(customer_id)

    everything = await listed(operator)
    assert {str(s) for s in [*mine, strangers]} <= {item["subscription_id"] for item in everything}
    assert {item["view"] for item in everything} == {"customer"}

    for headers, hidden in ((customer, strangers), (stranger, mine[0]), (partner, strangers)):
        response = await client.get(f"/subscriptions/{hidden}", headers=headers)
        assert (response.status_code, response.json()["code"]) == (404, "subscription_not_found")
    read = await client.get(f"/subscriptions/{mine[0]}", headers=customer)
    assert read.headers["ETag"] == f'"{read.json()["version"]}"'
    bad = await client.get("/subscriptions", params={"cursor": "xyz"}, headers=customer)
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")


async def test_more_seats_now_fewer_at_period_end_and_a_scheduled_change_withdrawn(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    active: tuple[uuid.UUID, Any],
    outbox: Any,
) -> None:
    subscription_id, _ = active
    more = await command(client, subscription_id, "seats", customer, quantity=15)
    assert (more["quantity"], more["scheduled_change"]) == (15, None)

    fewer = await command(client, subscription_id, "seats", customer, quantity=5)
    assert fewer["quantity"] == 15
    assert fewer["scheduled_change"]["quantity"] == 5
    assert fewer["scheduled_change"]["effective_on"] == fewer["current_period"]["ends_on"]

    kept = await command(client, subscription_id, "withdraw-change", customer)
    assert (kept["quantity"], kept["scheduled_change"]) == (15, None)

    events = await outbox.events(subject=subscription_id)
    assert [e["type"].rsplit(".", 1)[1] for e in events] == [
        "created",
        "activated",
        "changed",
        "changed",
        "changed",
    ]
    now_change, later_change, withdrawn = (e["data"] for e in events[2:])
    assert (now_change["previous_quantity"], now_change["subscription"]["quantity"]) == (10, 15)
    # Announced at once, effective at the period end: billing knows before it invoices.
    assert later_change["subscription"]["quantity"] == 5
    assert later_change["subscription"]["effective_at"] > events[3]["time"]
    assert (withdrawn["previous_quantity"], withdrawn["subscription"]["quantity"]) == (5, 15)
    assert [e["aggregateversion"] for e in events] == [1, 2, 3, 4, 5]


async def test_plan_changes_stay_within_the_product_and_its_offer(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    active: tuple[uuid.UUID, Any],
    seed: Any,
) -> None:
    subscription_id, product = active
    _, dearer, private = product.plans
    elsewhere = (await seed.product()).plans[0]

    another = await command(
        client, subscription_id, "plan", customer, expect=422, plan_id=str(elsewhere.plan_id)
    )
    assert another["code"] == "plan_of_another_product"
    hidden = await command(
        client, subscription_id, "plan", customer, expect=422, plan_id=str(private.plan_id)
    )
    assert hidden["code"] == "plan_not_offered"
    unknown = await command(
        client, subscription_id, "plan", customer, expect=422, plan_id=str(uuid.uuid4())
    )
    assert unknown["code"] == "plan_not_offered"
    too_many = await command(client, subscription_id, "seats", customer, expect=422, quantity=101)
    assert too_many["code"] == "quantity_out_of_range"

    upgraded = await command(client, subscription_id, "plan", customer, plan_id=str(dearer.plan_id))
    assert (upgraded["plan_id"], upgraded["quantity"]) == (str(dearer.plan_id), 10)


async def test_cancelled_at_period_end_reactivated_then_cancelled_now_and_then_frozen(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    active: tuple[uuid.UUID, Any],
    outbox: Any,
    database_url: str,
) -> None:
    subscription_id, _ = active
    cancelled = await command(client, subscription_id, "cancel", customer, reason="Дорого.")
    assert cancelled["status"] == "active"
    assert (
        cancelled["scheduled_cancellation"]["effective_on"]
        == (cancelled["current_period"]["ends_on"])
    )
    resumed = await command(client, subscription_id, "reactivate", customer)
    assert resumed["scheduled_cancellation"] is None

    ended = await command(client, subscription_id, "cancel", customer, mode="immediate")
    assert ended["status"] == "cancelled"
    events_before = await outbox.types(subject=subscription_id)
    assert events_before[-3:] == [
        "subscription.cancelled",
        "subscription.resumed",
        "subscription.cancelled",
    ]
    cancellations = [
        e["data"] for e in await outbox.events(subject=subscription_id) if "cancelled" in e["type"]
    ]
    assert [(c["mode"], c["reason"]) for c in cancellations] == [
        ("period_end", "Дорого."),
        ("immediate", ""),
    ]

    for action, body in (
        ("seats", {"quantity": 20}),
        ("cancel", {}),
        ("reactivate", {}),
        ("withdraw-change", {}),
    ):
        refused = await command(client, subscription_id, action, customer, expect=409, **body)
        assert refused["status"] == 409
        assert refused["subscription_status"] == "cancelled"
    assert await outbox.types(subject=subscription_id) == events_before
    version = await scalar(
        database_url,
        "SELECT version FROM subscriptions WHERE subscription_id = :id",
        id=subscription_id,
    )
    assert version == ended["version"]


async def test_only_the_customer_commands_and_the_operator_suspends(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    other_customer: dict[str, str],
    operator: dict[str, str],
    token_issuer: TestIssuer,
    active: tuple[uuid.UUID, Any],
) -> None:
    subscription_id, product = active
    its_partner = token_issuer.headers(product.partner_id, "partner")

    hidden = await command(client, subscription_id, "seats", other_customer, expect=404, quantity=2)
    assert hidden["code"] == "subscription_not_found"
    for headers in (its_partner, operator):
        refused = await command(client, subscription_id, "seats", headers, expect=403, quantity=2)
        assert refused["code"] == "only_the_customer"
    not_operator = await command(client, subscription_id, "suspend", customer, expect=403)
    assert not_operator["code"] == "operator_only"

    suspended = await command(client, subscription_id, "suspend", operator)
    assert (suspended["status"], suspended["suspension_reason"]) == ("suspended", "operator")
    resumed = await command(client, subscription_id, "resume", operator)
    assert resumed["status"] == "active"


async def test_if_match_refuses_a_change_made_on_a_stale_read(
    client: httpx.AsyncClient, customer: dict[str, str], active: tuple[uuid.UUID, Any]
) -> None:
    subscription_id, _ = active
    read = await client.get(f"/subscriptions/{subscription_id}", headers=customer)
    version = int(read.headers["ETag"].strip('"'))

    changed = await command(
        client, subscription_id, "seats", customer, if_match=version, quantity=12
    )
    assert changed["version"] == version + 1
    stale = await command(
        client, subscription_id, "seats", customer, expect=409, if_match=version, quantity=14
    )
    assert (stale["code"], stale["version"]) == ("subscription_version_conflict", version + 1)
    malformed = await client.post(
        f"/subscriptions/{subscription_id}/seats",
        json={"quantity": 14},
        headers={**customer, "If-Match": "soon"},
    )
    assert malformed.status_code == 422


async def test_two_changes_on_the_same_read_one_wins_the_other_is_told(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    active: tuple[uuid.UUID, Any],
    database_url: str,
) -> None:
    subscription_id, _ = active
    version = (await client.get(f"/subscriptions/{subscription_id}", headers=customer)).json()[
        "version"
    ]

    responses = await asyncio.gather(
        *(
            client.post(
                f"/subscriptions/{subscription_id}/seats",
                json={"quantity": quantity},
                headers={**customer, "If-Match": f'"{version}"'},
            )
            for quantity in (20, 30)
        )
    )

    assert sorted(r.status_code for r in responses) == [200, 409]
    [winner] = [r.json() for r in responses if r.status_code == 200]
    stored = await scalar(
        database_url,
        "SELECT quantity FROM subscriptions WHERE subscription_id = :id",
        id=subscription_id,
    )
    assert stored == winner["quantity"]


async def test_without_if_match_racing_writers_are_serialized_by_the_version(
    sessions: async_sessionmaker[AsyncSession], active: tuple[uuid.UUID, Any]
) -> None:
    # Two transactions read the same version and decide; the second UPDATE waits on the first's
    # row lock, then finds the version moved on: a 409 for it, never a lost update.
    subscription_id, product = active
    now = datetime.now(UTC)
    async with sessions() as first, sessions() as second:
        await first.begin()
        await second.begin()
        plan = (await offered_plans(first, [product.plans[0].plan_id], on=now.date()))[
            product.plans[0].plan_id
        ].terms
        read_by_first = await repository.get(first, subscription_id)
        read_by_second = await repository.get(second, subscription_id)
        assert read_by_first is not None
        assert read_by_second is not None
        await repository.save(
            first, read_by_first.change_seats(plan=plan, quantity=20, at=now).subscription
        )
        racing = asyncio.create_task(
            repository.save(
                second, read_by_second.change_seats(plan=plan, quantity=30, at=now).subscription
            )
        )
        await asyncio.sleep(0.2)
        assert not racing.done(), "the second writer waits for the first"
        await first.commit()
        with pytest.raises(SubscriptionVersionConflict):
            await racing
        await second.rollback()

    async with sessions() as session:
        stored = await repository.get(session, subscription_id)
    assert stored is not None
    assert stored.quantity == 20


async def test_the_calendar_applies_a_period_end_cancellation_and_ends_trials(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    operator: dict[str, str],
    active: tuple[uuid.UUID, Any],
    seed: Any,
    outbox: Any,
) -> None:
    subscription_id, _ = active
    cancelled = await command(client, subscription_id, "cancel", customer)
    trial_plan = seed.plan(trial_days=7)
    await seed.product(plans=(trial_plan,))
    trial_id = await subscribe(client, customer, trial_plan.plan_id)
    announced = await outbox.types(subject=subscription_id)

    refused = await client.post("/ops/subscriptions/advance", headers=customer)
    assert refused.status_code == 403
    period_end = cancelled["current_period"]["ends_on"]
    before = await client.post(
        "/ops/subscriptions/advance",
        params={"to": f"{period_end}T00:00:00+00:00"},
        headers=operator,
    )
    assert before.status_code == 200, before.text
    assert before.json()["advanced"] >= 1

    ended = (await client.get(f"/subscriptions/{subscription_id}", headers=customer)).json()
    assert (ended["status"], ended["scheduled_cancellation"]) == ("cancelled", None)
    assert ended["status_since"].startswith(period_end)
    # Announced when the customer cancelled; applying it publishes nothing more.
    assert await outbox.types(subject=subscription_id) == announced

    # The week's trial, unpaid, expires on its last day.
    trial = (await client.get(f"/subscriptions/{trial_id}", headers=customer)).json()
    later = await client.post(
        "/ops/subscriptions/advance",
        params={"to": f"{max(period_end, trial['trial_ends_on'])}T00:00:00+00:00"},
        headers=operator,
    )
    assert later.status_code == 200, later.text
    trial = (await client.get(f"/subscriptions/{trial_id}", headers=customer)).json()
    assert trial["status"] == "expired"
    assert (await outbox.types(subject=trial_id))[-1] == "subscription.expired"
    later = datetime.now(UTC) + timedelta(days=60)
    again = await client.post(
        "/ops/subscriptions/advance", params={"to": later.isoformat()}, headers=operator
    )
    assert again.status_code == 200
    trial = (await client.get(f"/subscriptions/{trial_id}", headers=customer)).json()
    assert trial["status"] == "expired"
    assert (await outbox.types(subject=trial_id)).count("subscription.expired") == 1
    naive = await client.post(
        "/ops/subscriptions/advance", params={"to": "2030-01-01T00:00:00"}, headers=operator
    )
    assert naive.status_code == 422


async def test_advancing_documents_its_refusals_as_problems(
    client: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    """Found by the API fuzzer: the operator's advance answered an undocumented 401/403."""
    documented = (await client.get("/openapi.json")).json()
    responses = documented["paths"]["/ops/subscriptions/advance"]["post"]["responses"]
    anonymous = await client.post("/ops/subscriptions/advance", headers={"Authorization": ""})
    refused = await client.post("/ops/subscriptions/advance", headers=customer)

    for answer in (anonymous, refused):
        assert answer.headers["content-type"] == "application/problem+json"
        assert "application/problem+json" in responses[str(answer.status_code)]["content"]
    assert (anonymous.status_code, refused.status_code) == (401, 403)
