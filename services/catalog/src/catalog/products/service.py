"""The catalog's use cases for products. Callers own the transaction; this module only flushes."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.products import domain, repository
from catalog.products.models import Plan, Product
from catalog.products.schemas import ProductCreate
from vitrina_contracts.events.catalog import PlanSnapshot, ProductPublished, ProductSnapshot
from vitrina_kit.auth import Caller
from vitrina_kit.outbox import add_event


async def create_product(session: AsyncSession, caller: Caller, data: ProductCreate) -> Product:
    """A new draft product of the calling partner (or of the operator, which sells its own)."""
    domain.check_may_offer_products(caller.organization_kind)
    if await repository.slug_taken(session, data.slug):
        raise domain.SlugTaken(data.slug)
    product = Product(
        id=uuid.uuid4(),
        partner_id=caller.organization_id,
        slug=data.slug,
        name=data.name,
        short_description=data.short_description,
        category=data.category,
        status=domain.ProductStatus.DRAFT,
        version=0,
        plans=[
            Plan(id=uuid.uuid4(), position=position, **plan.model_dump())
            for position, plan in enumerate(data.plans)
        ],
    )
    session.add(product)
    try:
        await session.flush()
    except IntegrityError as error:
        # Two requests raced for the same slug; the unique index decided.
        raise domain.SlugTaken(data.slug) from error
    await session.refresh(product)
    return product


async def get_product(session: AsyncSession, caller: Caller, product_id: uuid.UUID) -> Product:
    product = await repository.get_visible(session, caller, product_id)
    if product is None:
        raise domain.ProductNotFound(product_id)
    return product


async def publish_product(session: AsyncSession, caller: Caller, product_id: uuid.UUID) -> Product:
    """Publish a draft: it becomes orderable, and ``product.published`` goes out with it."""
    product = await repository.get_visible(session, caller, product_id, for_update=True)
    if product is None:
        raise domain.ProductNotFound(product_id)
    product.status = domain.publish(
        domain.ProductStatus(product.status), public_plans=sum(p.public for p in product.plans)
    )
    product.version += 1
    await add_event(
        session,
        ProductPublished(product=snapshot(product)),
        subject=str(product.id),
        aggregate_version=product.version,
    )
    await session.flush()
    await session.refresh(product)
    return product


def snapshot(product: Product) -> ProductSnapshot:
    """The product as the ``catalog.products`` contract carries it."""
    return ProductSnapshot(
        product_id=product.id,
        partner_id=product.partner_id,
        slug=product.slug,
        name=product.name,
        short_description=product.short_description,
        category=product.category,
        status=product.status,
        version=product.version,
        plans=[
            PlanSnapshot(
                plan_id=plan.id,
                code=plan.code,
                name=plan.name,
                billing_period=plan.billing_period,
                pricing_unit=plan.pricing_unit,
                unit_price=plan.unit_price,
                vat_mode=plan.vat_mode,
                min_quantity=plan.min_quantity,
                max_quantity=plan.max_quantity,
                trial_days=plan.trial_days,
                public=plan.public,
            )
            for plan in product.plans
        ],
    )
