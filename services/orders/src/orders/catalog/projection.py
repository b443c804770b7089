"""Applying catalog events to orders' copy of the catalog, newest version wins."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from orders.catalog.models import CatalogPlan, CatalogProduct
from vitrina_contracts.events.catalog import PlanPriceScheduled, ProductSnapshot
from vitrina_kit.projections import upsert_if_newer

logger = logging.getLogger(__name__)

_PRICE_COLUMNS = ("unit_price", "next_unit_price", "next_price_effective_on")
_TERMS_COLUMNS = (
    "product_id",
    "position",
    "code",
    "name",
    "billing_period",
    "pricing_unit",
    "vat_mode",
    "min_quantity",
    "max_quantity",
    "trial_days",
    "public",
)


async def apply_product(session: AsyncSession, product: ProductSnapshot) -> bool:
    """Store ``product`` unless a newer version is already here; True if it was applied.

    The version check is part of the upsert itself, so two consumers racing on the same product
    cannot interleave an older snapshot over a newer one.
    """
    values = {
        "product_id": product.product_id,
        "partner_id": product.partner_id,
        "slug": product.slug,
        "name": product.name,
        "category": product.category,
        "status": product.status,
        "version": product.version,
    }
    applied = await upsert_if_newer(session, CatalogProduct, values, key="product_id")
    if not applied:
        return False  # stale or repeated: what we hold is as new or newer
    await session.execute(
        delete(CatalogPlan).where(
            CatalogPlan.product_id == product.product_id,
            CatalogPlan.plan_id.not_in([plan.plan_id for plan in product.plans]),
        )
    )
    if product.plans:
        await _upsert_plans(session, product)
    return True


async def _upsert_plans(session: AsyncSession, product: ProductSnapshot) -> None:
    statement = upsert(CatalogPlan).values(
        [
            {
                "plan_id": plan.plan_id,
                "product_id": product.product_id,
                "position": position,
                "code": plan.code,
                "name": plan.name,
                "billing_period": plan.billing_period,
                "pricing_unit": plan.pricing_unit,
                "unit_price": plan.unit_price,
                "next_unit_price": plan.next_unit_price,
                "next_price_effective_on": plan.next_price_effective_on,
                "price_version": product.version,
                "vat_mode": plan.vat_mode,
                "min_quantity": plan.min_quantity,
                "max_quantity": plan.max_quantity,
                "trial_days": plan.trial_days,
                "public": plan.public,
            }
            for position, plan in enumerate(product.plans)
        ]
    )
    new, held = statement.excluded, CatalogPlan.__table__.c
    # A price scheduled after this snapshot was taken (and applied before it arrived) is newer
    # than the prices the snapshot carries: keep it.
    snapshot_is_newer = held.price_version < new.price_version

    terms = {column: new[column] for column in _TERMS_COLUMNS}
    prices = {
        column: case((snapshot_is_newer, new[column]), else_=held[column])
        for column in _PRICE_COLUMNS
    }
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CatalogPlan.plan_id],
            set_={
                **terms,
                **prices,
                "price_version": func.greatest(held.price_version, new.price_version),
            },
        )
    )


async def apply_price_scheduled(
    session: AsyncSession, event: PlanPriceScheduled, *, announced_on: date
) -> bool:
    """Record a plan's next price unless its prices already reflect that version; True if applied.

    ``announced_on`` is the catalog's day of the announcement (the envelope's time, in UTC): a
    previously scheduled price whose day had come by then became the current price.
    """
    # The row lock serializes this with a snapshot of the same product being applied.
    plan = await session.scalar(
        select(CatalogPlan)
        .where(CatalogPlan.plan_id == event.plan_id, CatalogPlan.product_id == event.product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if plan is None:
        # Happens only if the product's snapshot is late (waiting in a retry topic). Skipped,
        # not retried: the price reaches orders again with the product's next snapshot, which
        # carries it. The warning is there for the operator to notice the gap meanwhile.
        logger.warning(
            "price scheduled for a plan orders does not know",
            extra={"plan_id": str(event.plan_id), "product_version": event.product_version},
        )
        return False
    if plan.price_version >= event.product_version:
        return False  # stale or repeated: the prices here are as new or newer
    price = plan.price.schedule(event.unit_price, event.effective_on, announced_on=announced_on)
    plan.unit_price, plan.next_unit_price = price.current, price.next
    plan.next_price_effective_on = price.next_on
    plan.price_version = event.product_version
    await session.flush()
    return True
