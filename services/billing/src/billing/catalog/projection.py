"""Applying catalog events to billing's copy of the plans, newest version wins."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from billing.catalog.models import CatalogPlan, CatalogProduct, plan_pricing
from billing.subscriptions.domain import PlanPricing
from vitrina_contracts.events.catalog import PlanPriceScheduled, ProductSnapshot
from vitrina_kit.projections import upsert_if_newer

logger = logging.getLogger(__name__)

_PRICE_COLUMNS = ("unit_price", "next_unit_price", "next_price_effective_on")
_TERMS_COLUMNS = ("product_id", "name", "billing_period", "pricing_unit", "vat_mode")


async def apply_product(session: AsyncSession, product: ProductSnapshot) -> bool:
    """Store ``product`` and its plans unless a newer version is here; True if applied."""
    values = {
        "product_id": product.product_id,
        "partner_id": product.partner_id,
        "name": product.name,
        "status": product.status,
        "version": product.version,
    }
    applied = await upsert_if_newer(session, CatalogProduct, values, key="product_id")
    if not applied:
        return False  # stale or repeated: what we hold is as new or newer
    if not product.plans:
        return True
    plans = upsert(CatalogPlan).values(
        [
            {
                "plan_id": plan.plan_id,
                "product_id": product.product_id,
                "name": plan.name,
                "billing_period": plan.billing_period,
                "pricing_unit": plan.pricing_unit,
                "vat_mode": plan.vat_mode,
                "unit_price": plan.unit_price,
                "next_unit_price": plan.next_unit_price,
                "next_price_effective_on": plan.next_price_effective_on,
                "price_version": product.version,
            }
            for plan in product.plans
        ]
    )
    new, held = plans.excluded, CatalogPlan.__table__.c
    # A price scheduled after this snapshot was taken (and applied before it arrived) is
    # newer than the prices the snapshot carries: keep it.
    snapshot_is_newer = held.price_version < new.price_version
    await session.execute(
        plans.on_conflict_do_update(
            index_elements=[CatalogPlan.plan_id],
            set_={
                **{column: new[column] for column in _TERMS_COLUMNS},
                **{
                    column: case((snapshot_is_newer, new[column]), else_=held[column])
                    for column in _PRICE_COLUMNS
                },
                "price_version": func.greatest(held.price_version, new.price_version),
            },
        )
    )
    return True


async def apply_price_scheduled(
    session: AsyncSession, event: PlanPriceScheduled, *, announced_on: date
) -> bool:
    """Record a plan's next price unless its prices already reflect that version; True if
    applied. The catalog's rule: a scheduled price whose day had come by ``announced_on`` (the
    envelope's day) became the current price; one still pending is replaced."""
    plan = await session.scalar(
        select(CatalogPlan)
        .where(CatalogPlan.plan_id == event.plan_id, CatalogPlan.product_id == event.product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if plan is None:
        # Only when the product's snapshot is late; it carries the price when it comes.
        logger.warning(
            "price scheduled for a plan billing does not know",
            extra={"plan_id": str(event.plan_id), "product_version": event.product_version},
        )
        return False
    if plan.price_version >= event.product_version:
        return False  # stale or repeated
    due_on = plan.next_price_effective_on
    if plan.next_unit_price is not None and due_on is not None and due_on <= announced_on:
        plan.unit_price = plan.next_unit_price
    plan.next_unit_price = event.unit_price
    plan.next_price_effective_on = event.effective_on
    plan.price_version = event.product_version
    await session.flush()
    return True


async def pricing(
    session: AsyncSession, plan_ids: Iterable[uuid.UUID]
) -> Mapping[uuid.UUID, PlanPricing]:
    """The plans among ``plan_ids`` that billing knows, priced and named for documents."""
    ids = list(set(plan_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(CatalogPlan, CatalogProduct.name)
        .join(CatalogProduct, CatalogProduct.product_id == CatalogPlan.product_id)
        .where(CatalogPlan.plan_id.in_(ids))
    )
    return {plan.plan_id: plan_pricing(plan, name) for plan, name in rows}
