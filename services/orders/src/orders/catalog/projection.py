"""Applying catalog events to orders' copy of the catalog, newest version wins."""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from orders.catalog.models import CatalogPlan, CatalogProduct
from vitrina_contracts.events.catalog import ProductSnapshot


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
    statement = upsert(CatalogProduct).values(values)
    applied = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=[CatalogProduct.product_id],
            set_={key: statement.excluded[key] for key in values if key != "product_id"},
            where=CatalogProduct.version < statement.excluded.version,
        ).returning(CatalogProduct.product_id)
    )
    if applied is None:
        return False  # stale or repeated: what we hold is as new or newer
    await session.execute(delete(CatalogPlan).where(CatalogPlan.product_id == product.product_id))
    if product.plans:
        await session.execute(
            insert(CatalogPlan),
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
                    "vat_mode": plan.vat_mode,
                    "min_quantity": plan.min_quantity,
                    "max_quantity": plan.max_quantity,
                    "trial_days": plan.trial_days,
                    "public": plan.public,
                }
                for position, plan in enumerate(product.plans)
            ],
        )
    return True
