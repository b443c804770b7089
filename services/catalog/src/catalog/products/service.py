"""The catalog's use cases for products. Callers own the transaction; this module only flushes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.categories import service as categories
from catalog.products import domain, repository
from catalog.products.models import Plan, Product, ProductRevision
from catalog.products.schemas import (
    PlanCreate,
    PlanUpdate,
    PriceChange,
    ProductCreate,
    ProductUpdate,
)
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.catalog import (
    MediaLink,
    PlanPriceScheduled,
    PlanSnapshot,
    ProductPublished,
    ProductRetired,
    ProductRevised,
    ProductSnapshot,
    SupportContacts,
)
from vitrina_kit.auth import Caller
from vitrina_kit.outbox import add_event
from vitrina_kit.pagination import decode_cursor, encode_cursor

EDITABLE = (
    "name",
    "short_description",
    "description",
    "category",
    "tags",
    "media",
    "documentation_url",
    "support",
)
"""The product's fields a revision proposes (the slug and the owner never change)."""


async def create_product(session: AsyncSession, caller: Caller, data: ProductCreate) -> Product:
    """A new draft product of the calling partner (or of the operator, which sells its own)."""
    domain.check_may_offer_products(caller.organization_kind)
    if await repository.slug_taken(session, data.slug):
        raise domain.SlugTaken(data.slug)
    await categories.check_exists(session, data.category)
    review = domain.Review.new()
    product = Product(
        id=uuid.uuid4(),
        partner_id=caller.organization_id,
        slug=data.slug,
        name=data.name,
        short_description=data.short_description,
        description=data.description,
        category=data.category,
        tags=data.tags,
        media=[link.model_dump(mode="json") for link in data.media],
        documentation_url=data.documentation_url,
        support=data.support.model_dump(mode="json") if data.support else None,
        status=review.status,
        version=0,
        plans=[
            Plan(id=uuid.uuid4(), position=position, **plan.model_dump())
            for position, plan in enumerate(data.plans)
        ],
    )
    product.revisions = [
        ProductRevision(
            id=uuid.uuid4(),
            number=review.revision,
            status=review.revision_status,
            content=content_of(product),
        )
    ]
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


async def list_products(
    session: AsyncSession,
    caller: Caller,
    *,
    cursor: str | None,
    limit: int,
    status: domain.ProductStatus | None,
) -> tuple[list[Product], str | None]:
    """A page of the caller's products in every status (all products for the operator)."""
    rows = list(
        await repository.page(
            session, caller, after=decode_cursor(cursor), limit=limit + 1, status=status
        )
    )
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor((rows[-1].created_at, rows[-1].id)) if more else None


async def moderation_queue(
    session: AsyncSession, *, cursor: str | None, limit: int
) -> tuple[list[Product], str | None]:
    """What waits for the operator's decision, the longest waiting first."""
    rows = list(await repository.queue_page(session, after=decode_cursor(cursor), limit=limit + 1))
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = encode_cursor((rows[-1][1], rows[-1][0].id)) if more else None
    return [product for product, _ in rows], next_cursor


async def list_revisions(
    session: AsyncSession, caller: Caller, product_id: uuid.UUID
) -> Sequence[ProductRevision]:
    """Every review round of the product, the latest first."""
    return list(reversed((await get_product(session, caller, product_id)).revisions))


async def edit_product(
    session: AsyncSession, caller: Caller, product_id: uuid.UUID, data: ProductUpdate
) -> Product:
    """Change a draft in place; on a published product, propose the change as a new revision."""
    product = await _locked(session, caller, product_id)
    before = review_of(product)
    after = before.edit()
    changes = data.changes()
    if "category" in changes:
        await categories.check_exists(session, changes["category"])
    if after.revision != before.revision:
        revision = ProductRevision(
            id=uuid.uuid4(),
            number=after.revision,
            status=after.revision_status,
            content={**content_of(product), **changes},
        )
        product.revisions.append(revision)
    else:
        revision = product.latest_revision
        revision.status = after.revision_status
        revision.content = {**revision.content, **changes}
    if not after.is_live:
        # Nothing is live yet: the product itself is the draft.
        _apply(product, changes)
    product.status = after.status
    return await _flushed(session, product)


async def submit_product(session: AsyncSession, caller: Caller, product_id: uuid.UUID) -> Product:
    """Send the latest revision to the operator's moderation queue."""
    product = await _locked(session, caller, product_id)
    after = review_of(product).submit(public_plans=sum(plan.public for plan in product.plans))
    product.status = after.status
    product.latest_revision.status = after.revision_status
    product.latest_revision.submitted_at = datetime.now(UTC)
    return await _flushed(session, product)


async def approve_product(session: AsyncSession, caller: Caller, product_id: uuid.UUID) -> Product:
    """Publish the revision in review: ``product.published`` the first time, then ``.revised``."""
    product = await _locked(session, caller, product_id)
    after, outcome = review_of(product).approve()
    revision = product.latest_revision
    _apply(product, revision.content)
    _decide(revision, caller, after.revision_status)
    product.status = after.status
    if outcome is domain.Outcome.PUBLISHED:
        product.published_at = datetime.now(UTC)
    event_class = ProductPublished if outcome is domain.Outcome.PUBLISHED else ProductRevised
    await _announce(session, product, event_class)
    return await _flushed(session, product)


async def reject_product(
    session: AsyncSession, caller: Caller, product_id: uuid.UUID, reason: str
) -> Product:
    """Turn the revision in review down with a reason the partner can act on."""
    product = await _locked(session, caller, product_id)
    after = review_of(product).reject()
    revision = product.latest_revision
    _decide(revision, caller, after.revision_status)
    revision.rejection_reason = reason
    product.status = after.status
    return await _flushed(session, product)


async def retire_product(session: AsyncSession, caller: Caller, product_id: uuid.UUID) -> Product:
    """Stop selling the product; it stays readable for the subscribers it has."""
    product = await _locked(session, caller, product_id)
    after = review_of(product).retire()
    if after.revision_status != product.latest_revision.status:
        _decide(product.latest_revision, caller, after.revision_status)
    product.status = after.status
    await _announce(session, product, ProductRetired)
    return await _flushed(session, product)


async def schedule_price_change(
    session: AsyncSession,
    caller: Caller,
    product_id: uuid.UUID,
    plan_id: uuid.UUID,
    change: PriceChange,
    *,
    notice_days: int,
) -> Product:
    """Announce a published plan's new price from a date at least the notice period away."""
    product = await _locked(session, caller, product_id)
    if product.status != domain.ProductStatus.PUBLISHED:
        raise domain.PriceChangeNeedsPublishedProduct(domain.ProductStatus(product.status))
    plan = _plan(product, plan_id)
    price = domain.Price(plan.unit_price, plan.next_unit_price, plan.next_price_effective_on)
    scheduled = price.schedule(
        change.unit_price,
        change.effective_on,
        today=datetime.now(UTC).date(),
        notice_days=notice_days,
    )
    plan.unit_price, plan.next_unit_price = scheduled.current, scheduled.next
    plan.next_price_effective_on = scheduled.next_on
    product.version += 1
    event = PlanPriceScheduled(
        product_id=product.id,
        plan_id=plan.id,
        product_version=product.version,
        unit_price=change.unit_price,
        effective_on=change.effective_on,
    )
    await add_event(session, event, subject=str(product.id), aggregate_version=product.version)
    return await _flushed(session, product)


async def add_plan(
    session: AsyncSession, caller: Caller, product_id: uuid.UUID, data: PlanCreate
) -> Plan:
    """A new plan on a product that has not been published yet."""
    product = await _locked(session, caller, product_id)
    _edit_plans(product)
    if any(plan.code == data.code for plan in product.plans):
        raise domain.PlanCodeTaken(data.code)
    position = max((plan.position for plan in product.plans), default=-1) + 1
    plan = Plan(id=uuid.uuid4(), position=position, **data.model_dump())
    product.plans.append(plan)
    await session.flush()
    return plan


async def update_plan(
    session: AsyncSession,
    caller: Caller,
    product_id: uuid.UUID,
    plan_id: uuid.UUID,
    data: PlanUpdate,
) -> Plan:
    product = await _locked(session, caller, product_id)
    plan = _plan(product, plan_id)
    _edit_plans(product)
    changes = data.changes()
    domain.check_quantity_range(
        changes.get("min_quantity", plan.min_quantity),
        changes.get("max_quantity", plan.max_quantity),
    )
    for field, value in changes.items():
        setattr(plan, field, value)
    await session.flush()
    return plan


async def remove_plan(
    session: AsyncSession, caller: Caller, product_id: uuid.UUID, plan_id: uuid.UUID
) -> None:
    product = await _locked(session, caller, product_id)
    plan = _plan(product, plan_id)
    _edit_plans(product)
    product.plans.remove(plan)
    await session.flush()


def _plan(product: Product, plan_id: uuid.UUID) -> Plan:
    plan = next((plan for plan in product.plans if plan.id == plan_id), None)
    if plan is None:
        raise domain.PlanNotFound(plan_id)
    return plan


def _edit_plans(product: Product) -> None:
    after = domain.edit_plans(review_of(product))
    product.status = after.status
    product.latest_revision.status = after.revision_status


def review_of(product: Product) -> domain.Review:
    latest = product.latest_revision
    return domain.Review(
        domain.ProductStatus(product.status), latest.number, domain.RevisionStatus(latest.status)
    )


def content_of(product: Product) -> dict[str, Any]:
    return {field: getattr(product, field) for field in EDITABLE}


def _apply(product: Product, content: dict[str, Any]) -> None:
    for field in EDITABLE:
        if field in content:
            setattr(product, field, content[field])


def _decide(revision: ProductRevision, caller: Caller, status: domain.RevisionStatus) -> None:
    revision.status = status
    revision.decided_at = datetime.now(UTC)
    revision.decided_by = caller.organization_id


async def _locked(session: AsyncSession, caller: Caller, product_id: uuid.UUID) -> Product:
    # Row lock: two moderators (or a partner and a moderator) must not decide on stale state.
    product = await repository.get_visible(session, caller, product_id, for_update=True)
    if product is None:
        raise domain.ProductNotFound(product_id)
    return product


async def _announce(
    session: AsyncSession,
    product: Product,
    event_class: type[ProductPublished] | type[ProductRevised] | type[ProductRetired],
) -> None:
    product.version += 1
    event: Event = event_class(product=snapshot(product))
    await add_event(session, event, subject=str(product.id), aggregate_version=product.version)


async def _flushed(session: AsyncSession, product: Product) -> Product:
    await session.flush()
    await session.refresh(product)
    return product


def snapshot(product: Product) -> ProductSnapshot:
    """The product as the ``catalog.products`` contract carries it, prices as of today."""
    today = datetime.now(UTC).date()
    prices = {plan.id: plan.price_on(today) for plan in product.plans}
    return ProductSnapshot(
        product_id=product.id,
        partner_id=product.partner_id,
        slug=product.slug,
        name=product.name,
        short_description=product.short_description,
        category=product.category,
        status=product.status,
        version=product.version,
        revision=product.live_revision,
        description=product.description,
        tags=tuple(product.tags),
        documentation_url=product.documentation_url,
        media=tuple(MediaLink.model_validate(link) for link in product.media),
        support=SupportContacts.model_validate(product.support) if product.support else None,
        plans=[
            PlanSnapshot(
                plan_id=plan.id,
                code=plan.code,
                name=plan.name,
                billing_period=plan.billing_period,
                pricing_unit=plan.pricing_unit,
                unit_price=prices[plan.id].current,
                vat_mode=plan.vat_mode,
                min_quantity=plan.min_quantity,
                max_quantity=plan.max_quantity,
                trial_days=plan.trial_days,
                public=plan.public,
                next_unit_price=prices[plan.id].next,
                next_price_effective_on=prices[plan.id].next_on,
            )
            for plan in product.plans
        ],
    )
