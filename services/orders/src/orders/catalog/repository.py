"""Reading orders' copy of the catalog, for ordering and pricing."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from orders.catalog.models import CatalogPlan
from orders.orders.domain import OfferedPlan, ProductStatus
from orders.subscriptions.domain import BillingPeriod


async def get_plans(
    session: AsyncSession, plan_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, CatalogPlan]:
    """The plans with these ids that orders knows, each with its product loaded, by plan id.

    An id orders does not know is simply absent, so the caller can reject that order line alone.
    """
    if not plan_ids:
        return {}
    plans = await session.scalars(
        select(CatalogPlan)
        .where(CatalogPlan.plan_id.in_(set(plan_ids)))
        .options(joinedload(CatalogPlan.product))
    )
    return {plan.plan_id: plan for plan in plans}


async def price_on(session: AsyncSession, plan_id: uuid.UUID, day: date) -> Decimal | None:
    """The plan's unit price (without VAT) on ``day``, or None if orders knows no such plan."""
    plan = await session.get(CatalogPlan, plan_id)
    return None if plan is None else plan.price_on(day)


async def offered_plans(
    session: AsyncSession, plan_ids: Collection[uuid.UUID], *, on: date
) -> dict[uuid.UUID, OfferedPlan]:
    """The plans with these ids as orders' rules read them, priced on ``on``, by plan id."""
    plans = await get_plans(session, plan_ids)
    return {plan_id: offered(plan, on=on) for plan_id, plan in plans.items()}


def offered(plan: CatalogPlan, *, on: date) -> OfferedPlan:
    """``plan`` (its product loaded) as orders' rules read it, priced on ``on``."""
    product = plan.product
    return OfferedPlan(
        plan_id=plan.plan_id,
        product_id=product.product_id,
        partner_id=product.partner_id,
        product_name=product.name,
        product_status=ProductStatus(product.status),
        plan_name=plan.name,
        public=plan.public,
        billing_period=BillingPeriod(plan.billing_period),
        pricing_unit=plan.pricing_unit,
        unit_price=plan.price_on(on),
        min_quantity=plan.min_quantity,
        max_quantity=plan.max_quantity,
        trial_days=plan.trial_days,
    )
