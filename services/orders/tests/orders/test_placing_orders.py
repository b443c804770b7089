"""Placing orders through the API over a real PostgreSQL: accepted orders create their
subscriptions and announce them; refused ones say every reason and leave nothing behind."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from vitrina_kit.testing.database import scalar


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def place(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    lines: list[dict[str, Any]],
    *,
    expect: int = 201,
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/orders", json={"lines": lines, **extra}, headers={**headers, **key()}
    )
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def nothing_stored(database_url: str) -> bool:
    counts = [
        await scalar(database_url, f"SELECT count(*) FROM {table}")
        for table in ("orders", "subscriptions", "outbox_messages", "idempotency_keys")
    ]
    return counts == [0, 0, 0, 0]


async def test_an_accepted_order_creates_a_subscription_per_line_and_announces_them(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    customer_id: uuid.UUID,
    seed: Any,
    outbox: Any,
) -> None:
    await seed.buyer(organization_id=customer_id)
    monthly = seed.plan(unit_price="390.00")
    with_trial = seed.plan(trial_days=14, name="Пробный")
    product = await seed.product(plans=(monthly, with_trial))

    order = await place(
        client,
        customer,
        [
            {"plan_id": str(monthly.plan_id), "quantity": 10},
            {
                "plan_id": str(with_trial.plan_id),
                "quantity": 3,
                "product_id": str(product.product_id),
            },
        ],
        purchase_order_ref="ЗК-2026/117",
    )

    assert order["status"] == "completed"
    assert order["customer_id"] == str(customer_id)
    assert order["purchase_order_ref"] == "ЗК-2026/117"
    first, second = order["lines"]
    assert (second["line_no"], second["quantity"]) == (2, 3)
    assert (first["line_no"], first["quantity"], first["unit_price"]) == (1, 10, "390.00")
    assert first["product_id"] == str(product.product_id)
    subscriptions = [
        (await client.get(f"/subscriptions/{line['subscription_id']}", headers=customer)).json()
        for line in order["lines"]
    ]
    assert [s["status"] for s in subscriptions] == ["pending", "trial"]
    assert [s["quantity"] for s in subscriptions] == [10, 3]
    assert {s["order_id"] for s in subscriptions} == {order["order_id"]}
    assert subscriptions[1]["trial_ends_on"] is not None
    assert subscriptions[0]["partner_id"] == str(product.partner_id)

    # A trial starts now: the partner provisions it, so it is activated as well as created.
    assert await outbox.types() == [
        "subscription.created",
        "subscription.created",
        "subscription.activated",
        "order.completed",
    ]
    completed = (await outbox.events(subject=uuid.UUID(order["order_id"])))[0]["data"]["order"]
    assert [line["subscription_id"] for line in completed["lines"]] == [
        line["subscription_id"] for line in order["lines"]
    ]
    created = (await outbox.events(subject=uuid.UUID(first["subscription_id"])))[0]
    assert created["aggregateversion"] == 1
    assert created["tenantid"] == str(customer_id)
    assert created["data"]["subscription"]["status"] == "pending"


async def test_the_same_key_replays_the_order_and_another_body_is_refused(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    customer_id: uuid.UUID,
    seed: Any,
    database_url: str,
) -> None:
    await seed.buyer(organization_id=customer_id)
    plan = seed.plan()
    await seed.product(plans=(plan,))
    headers = {**customer, **key()}
    body = {"lines": [{"plan_id": str(plan.plan_id), "quantity": 2}]}

    first = await client.post("/orders", json=body, headers=headers)
    again = await client.post("/orders", json=body, headers=headers)
    other = await client.post(
        "/orders", json={"lines": [{"plan_id": str(plan.plan_id), "quantity": 3}]}, headers=headers
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert await scalar(database_url, "SELECT count(*) FROM subscriptions") == 1
    assert await scalar(database_url, "SELECT count(*) FROM orders") == 1


async def test_every_bad_line_is_reported_and_nothing_is_stored(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    customer_id: uuid.UUID,
    seed: Any,
    database_url: str,
) -> None:
    await seed.buyer(organization_id=customer_id)
    on_sale, private = seed.plan(min_quantity=5, max_quantity=50), seed.plan(public=False)
    product = await seed.product(plans=(on_sale, private))
    other_product = await seed.product()
    retired_plan = seed.plan()
    await seed.product(plans=(retired_plan,), status="retired")
    draft_plan_id = uuid.uuid4()  # a draft never reaches orders: unknown

    problem = await place(
        client,
        customer,
        [
            {"plan_id": str(draft_plan_id), "quantity": 1},
            {"plan_id": str(retired_plan.plan_id), "quantity": 1},
            {"plan_id": str(on_sale.plan_id), "quantity": 51},
            {"plan_id": str(private.plan_id), "quantity": 1},
            {
                "plan_id": str(other_product.plans[0].plan_id),
                "quantity": 1,
                "product_id": str(product.product_id),
            },
        ],
        expect=422,
    )

    assert problem["code"] == "order_rejected"
    assert [(r["line_no"], r["code"]) for r in problem["reasons"]] == [
        (1, "plan_unknown"),
        (2, "product_retired"),
        (3, "quantity_above_maximum"),
        (4, "plan_not_public"),
        (5, "plan_of_another_product"),
    ]
    assert all(reason["message"] for reason in problem["reasons"])
    below = await place(
        client, customer, [{"plan_id": str(on_sale.plan_id), "quantity": 4}], expect=422
    )
    assert [r["code"] for r in below["reasons"]] == ["quantity_below_minimum"]
    assert await nothing_stored(database_url)


async def test_a_buyer_orders_knows_nothing_of_or_without_requisites_is_refused(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    customer_id: uuid.UUID,
    seed: Any,
    database_url: str,
) -> None:
    plan = seed.plan()
    await seed.product(plans=(plan,))
    lines = [{"plan_id": str(plan.plan_id), "quantity": 1}]

    unknown = await place(client, customer, lines, expect=422)
    assert [(r["line_no"], r["code"]) for r in unknown["reasons"]] == [(None, "buyer_unknown")]

    await seed.buyer(organization_id=customer_id, status="pending")
    pending = await place(client, customer, lines, expect=422)
    assert [r["code"] for r in pending["reasons"]] == ["buyer_not_active"]
    assert await nothing_stored(database_url)


async def test_partners_and_the_operator_do_not_order_and_bodies_are_bounded(
    client: httpx.AsyncClient,
    partner: dict[str, str],
    operator: dict[str, str],
    customer: dict[str, str],
    database_url: str,
) -> None:
    line = {"plan_id": str(uuid.uuid4()), "quantity": 1}
    for headers in (partner, operator):
        refused = await place(client, headers, [line], expect=403)
        assert refused["code"] == "only_businesses_order"
    for lines in ([], [line] * 51, [{**line, "quantity": 0}]):
        invalid = await place(client, customer, lines, expect=422)
        assert invalid["code"] == "invalid_request"
    missing_key = await client.post("/orders", json={"lines": [line]}, headers=customer)
    assert missing_key.status_code == 422
    assert await nothing_stored(database_url)


async def test_orders_are_listed_page_by_page_and_only_to_their_customer(
    client: httpx.AsyncClient,
    customer: dict[str, str],
    customer_id: uuid.UUID,
    other_customer: dict[str, str],
    operator: dict[str, str],
    seed: Any,
) -> None:
    await seed.buyer(organization_id=customer_id)
    plan = seed.plan()
    await seed.product(plans=(plan,))
    placed = [
        (await place(client, customer, [{"plan_id": str(plan.plan_id), "quantity": n}]))["order_id"]
        for n in (1, 2, 3)
    ]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/orders", params=params, headers=customer)).json()
        seen += [order["order_id"] for order in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == placed

    assert (await client.get("/orders", headers=other_customer)).json()["items"] == []
    hidden = await client.get(f"/orders/{placed[0]}", headers=other_customer)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "order_not_found")
    assert (await client.get(f"/orders/{placed[0]}", headers=operator)).status_code == 200
    everyone = (await client.get("/orders", headers=operator)).json()["items"]
    assert {order["order_id"] for order in everyone} >= set(placed)
    bad = await client.get("/orders", params={"cursor": "not-a-cursor"}, headers=customer)
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
