"""Scheduled prices in orders' copy of the catalog, what a plan costs on a day, and the plans an
order is checked against."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.catalog import repository
from orders.catalog.domain import PlanPrice
from orders.catalog.projection import apply_price_scheduled, apply_product
from vitrina_contracts.events.catalog import PlanPriceScheduled, ProductPublished, ProductSnapshot
from vitrina_kit.db import transaction

NEW_YEAR = date(2026, 1, 1)
ANNOUNCED_ON = date(2025, 11, 20)


def product(
    *,
    version: int,
    status: str = "published",
    next_price: str | None = None,
    next_on: date | None = None,
    product_id: uuid.UUID | None = None,
) -> ProductSnapshot:
    """The contract's example product (plans «Стандарт» 350.00 a seat, «Бизнес»), renamed apart."""
    example = ProductPublished.example().product
    standard, business = example.plans
    standard = standard.model_copy(
        update={
            "plan_id": uuid.uuid4(),
            "unit_price": Decimal("350.00"),
            "next_unit_price": Decimal(next_price) if next_price else None,
            "next_price_effective_on": next_on,
        }
    )
    business = business.model_copy(update={"plan_id": uuid.uuid4()})
    return example.model_copy(
        update={
            "product_id": product_id or uuid.uuid4(),
            "version": version,
            "status": status,
            "plans": (standard, business),
        }
    )


def revised(snapshot: ProductSnapshot, **changes: object) -> ProductSnapshot:
    """The same product (same plan ids) at another version or with other prices."""
    next_price = changes.pop("next_price", None)
    next_on = changes.pop("next_on", None)
    standard, business = snapshot.plans
    standard = standard.model_copy(
        update={
            "next_unit_price": Decimal(str(next_price)) if next_price else None,
            "next_price_effective_on": next_on,
        }
    )
    return snapshot.model_copy(update={**changes, "plans": (standard, business)})


def price_scheduled(
    snapshot: ProductSnapshot, *, version: int, price: str, effective_on: date = NEW_YEAR
) -> PlanPriceScheduled:
    return PlanPriceScheduled(
        product_id=snapshot.product_id,
        plan_id=snapshot.plans[0].plan_id,
        product_version=version,
        unit_price=Decimal(price),
        effective_on=effective_on,
    )


async def published(sessions: async_sessionmaker[AsyncSession], snapshot: ProductSnapshot) -> bool:
    async with transaction(sessions) as session:
        return await apply_product(session, snapshot)


async def scheduled(
    sessions: async_sessionmaker[AsyncSession],
    event: PlanPriceScheduled,
    *,
    announced_on: date = ANNOUNCED_ON,
) -> bool:
    async with transaction(sessions) as session:
        return await apply_price_scheduled(session, event, announced_on=announced_on)


async def price_of(
    sessions: async_sessionmaker[AsyncSession], snapshot: ProductSnapshot
) -> PlanPrice:
    async with sessions() as session:
        plans = await repository.get_plans(session, [snapshot.plans[0].plan_id])
        return plans[snapshot.plans[0].plan_id].price


async def price_on(
    sessions: async_sessionmaker[AsyncSession], snapshot: ProductSnapshot, day: date
) -> Decimal | None:
    async with sessions() as session:
        return await repository.price_on(session, snapshot.plans[0].plan_id, day)


def test_a_scheduled_price_applies_from_its_effective_date_on() -> None:
    price = PlanPrice(Decimal("350.00"), Decimal("390.00"), NEW_YEAR)

    assert price.on(date(2025, 12, 31)) == Decimal("350.00")
    assert price.on(NEW_YEAR) == Decimal("390.00")
    assert price.on(date(2026, 6, 1)) == Decimal("390.00")
    assert PlanPrice(Decimal("350.00")).on(NEW_YEAR) == Decimal("350.00")


def test_a_new_announcement_replaces_a_pending_change_and_settles_one_whose_day_came() -> None:
    price = PlanPrice(Decimal("350.00"), Decimal("390.00"), NEW_YEAR)

    pending = price.schedule(Decimal("370.00"), date(2026, 2, 1), announced_on=date(2025, 12, 1))
    settled = price.schedule(Decimal("420.00"), date(2026, 3, 1), announced_on=date(2026, 1, 15))

    assert pending == PlanPrice(Decimal("350.00"), Decimal("370.00"), date(2026, 2, 1))
    assert settled == PlanPrice(Decimal("390.00"), Decimal("420.00"), date(2026, 3, 1))


async def test_a_scheduled_price_is_recorded_on_the_plan(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    snapshot = product(version=1)
    await published(sessions, snapshot)

    assert await scheduled(sessions, price_scheduled(snapshot, version=2, price="390.00"))

    assert await price_of(sessions, snapshot) == PlanPrice(
        Decimal("350.00"), Decimal("390.00"), NEW_YEAR
    )
    assert await price_on(sessions, snapshot, date(2025, 12, 31)) == Decimal("350.00")
    assert await price_on(sessions, snapshot, NEW_YEAR) == Decimal("390.00")
    assert await price_on(sessions, snapshot, date(2026, 1, 2)) == Decimal("390.00")


async def test_a_late_or_repeated_price_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    snapshot = product(version=1)
    await published(sessions, snapshot)
    await scheduled(sessions, price_scheduled(snapshot, version=3, price="390.00"))

    assert not await scheduled(sessions, price_scheduled(snapshot, version=3, price="999.00"))
    assert not await scheduled(sessions, price_scheduled(snapshot, version=2, price="370.00"))

    assert (await price_of(sessions, snapshot)).next == Decimal("390.00")


async def test_a_price_older_than_the_snapshot_held_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The snapshot of version 3 already carries what version 2 scheduled.
    snapshot = product(version=3, next_price="390.00", next_on=NEW_YEAR)
    await published(sessions, snapshot)

    assert not await scheduled(sessions, price_scheduled(snapshot, version=2, price="370.00"))

    assert await price_of(sessions, snapshot) == PlanPrice(
        Decimal("350.00"), Decimal("390.00"), NEW_YEAR
    )


async def test_a_later_snapshot_keeps_the_scheduled_price_it_carries(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    snapshot = product(version=1)
    await published(sessions, snapshot)
    await scheduled(sessions, price_scheduled(snapshot, version=2, price="390.00"))

    retired = revised(snapshot, version=3, status="retired", next_price="390.00", next_on=NEW_YEAR)
    assert await published(sessions, retired)

    assert await price_on(sessions, snapshot, NEW_YEAR) == Decimal("390.00")


async def test_a_snapshot_delayed_behind_a_price_change_leaves_the_price_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Version 2 failed once and waited in a retry topic while version 3 scheduled a price: it
    # is applied after, and updates the product but not the price it knows nothing of.
    snapshot = product(version=1)
    await published(sessions, snapshot)
    await scheduled(sessions, price_scheduled(snapshot, version=3, price="390.00"))

    assert await published(sessions, revised(snapshot, version=2, name="Проектная доска Про"))

    async with sessions() as session:
        plan = (await repository.get_plans(session, [snapshot.plans[0].plan_id]))[
            snapshot.plans[0].plan_id
        ]
    assert (plan.product.name, plan.product.version) == ("Проектная доска Про", 2)
    assert plan.price == PlanPrice(Decimal("350.00"), Decimal("390.00"), NEW_YEAR)


async def test_a_price_for_a_plan_not_known_yet_is_skipped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    snapshot = product(version=1)

    assert not await scheduled(sessions, price_scheduled(snapshot, version=2, price="390.00"))

    async with sessions() as session:
        assert await repository.get_plans(session, [snapshot.plans[0].plan_id]) == {}


async def test_a_price_announced_after_the_last_one_took_effect_settles_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    snapshot = product(version=1, next_price="390.00", next_on=NEW_YEAR)
    await published(sessions, snapshot)

    later = price_scheduled(snapshot, version=2, price="420.00", effective_on=date(2026, 3, 1))
    assert await scheduled(sessions, later, announced_on=date(2026, 1, 15))

    assert await price_of(sessions, snapshot) == PlanPrice(
        Decimal("390.00"), Decimal("420.00"), date(2026, 3, 1)
    )


async def test_a_retired_product_is_kept_as_retired_and_not_on_sale(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    snapshot = product(version=1)
    await published(sessions, snapshot)
    assert await published(sessions, revised(snapshot, version=2, status="retired"))

    async with sessions() as session:
        plans = await repository.get_plans(session, [plan.plan_id for plan in snapshot.plans])
    assert len(plans) == 2
    assert {(plan.product.status, plan.product.on_sale) for plan in plans.values()} == {
        ("retired", False)
    }


async def test_plans_are_read_with_their_products_and_unknown_ids_left_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = product(version=1), product(version=4)
    await published(sessions, first)
    await published(sessions, second)
    unknown = uuid.uuid4()
    wanted = [first.plans[0].plan_id, second.plans[1].plan_id, unknown]

    async with sessions() as session:
        plans = await repository.get_plans(session, wanted)
        assert await repository.get_plans(session, []) == {}
        assert await repository.price_on(session, unknown, NEW_YEAR) is None

    assert set(plans) == {first.plans[0].plan_id, second.plans[1].plan_id}
    standard, business = plans[first.plans[0].plan_id], plans[second.plans[1].plan_id]
    assert (standard.code, standard.product.product_id, standard.product.on_sale) == (
        "standard",
        first.product_id,
        True,
    )
    assert (business.code, business.min_quantity, business.product.version) == ("business", 10, 4)
