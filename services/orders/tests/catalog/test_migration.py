"""Plans projected before prices were scheduled keep their prices, at their product's version."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from orders.main import SERVICE
from vitrina_kit.migrations import upgrade
from vitrina_kit.testing.database import query


async def execute(url: str, *statements: str, **params: object) -> None:
    """Committed, unlike ``query``: the rows must be there when the next migration runs."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement), params)
    finally:
        await engine.dispose()


async def test_plans_held_before_0004_get_their_products_version(
    make_database: Callable[[str], str],
) -> None:
    url = make_database(SERVICE.name)
    upgrade(SERVICE.migrations, url, "0003")
    product_id, plan_id = uuid.uuid4(), uuid.uuid4()
    await execute(
        url,
        "INSERT INTO catalog_products (product_id, partner_id, slug, name, category, status,"
        " version) VALUES (:product_id, :partner_id, 'vats', 'Виртуальная АТС', 'communications',"
        " 'published', 5)",
        "INSERT INTO catalog_plans (plan_id, product_id, position, code, name, billing_period,"
        " pricing_unit, unit_price, vat_mode, min_quantity, max_quantity, trial_days, public)"
        " VALUES (:plan_id, :product_id, 0, 'office', 'Офис', 'month', 'seat', 390.00,"
        " 'standard', 1, NULL, 0, true)",
        product_id=product_id,
        partner_id=uuid.uuid4(),
        plan_id=plan_id,
    )

    upgrade(SERVICE.migrations, url)

    [plan] = await query(
        url,
        "SELECT unit_price, next_unit_price, next_price_effective_on, price_version"
        " FROM catalog_plans WHERE plan_id = :plan_id",
        plan_id=plan_id,
    )
    assert tuple(plan) == (Decimal("390.00"), None, None, 5)
