from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from catalog.dependencies import SettingsDep
from catalog.products import service
from catalog.products.domain import ProductStatus
from catalog.products.schemas import (
    PlanCreate,
    PlanRead,
    PlanUpdate,
    PriceChange,
    ProductCreate,
    ProductPage,
    ProductRead,
    ProductUpdate,
    Rejection,
    RevisionRead,
)
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/products", tags=["products"], responses=PROBLEM_RESPONSES)
moderation_router = APIRouter(
    prefix="/moderation", tags=["moderation"], responses=PROBLEM_RESPONSES
)

Reader = Annotated[Caller, requires("catalog:read")]
Writer = Annotated[Caller, requires("catalog:write")]
Moderator = Annotated[Caller, requires("catalog:moderate")]


@router.post("", status_code=201, response_model=ProductRead)
async def create_product(
    body: ProductCreate, caller: Writer, session: SessionDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Create a draft product with its plans (repeatable safely with the same Idempotency-Key)."""
    return await idempotency.respond(
        lambda: service.create_product(session, caller, body),
        response_model=ProductRead,
        location=lambda product: f"/products/{product.id}",
    )


Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("", response_model=ProductPage)
async def list_products(
    caller: Reader,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    status: ProductStatus | None = None,
) -> ProductPage:
    """The caller's own products in every status (drafts included); the operator sees all."""
    items, next_cursor = await service.list_products(
        session, caller, cursor=cursor, limit=limit, status=status
    )
    return ProductPage(
        items=[ProductRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


@moderation_router.get("/queue", response_model=ProductPage)
async def moderation_queue(
    caller: Moderator, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
) -> ProductPage:
    """Operator: the products waiting for review, the longest waiting first."""
    items, next_cursor = await service.moderation_queue(session, cursor=cursor, limit=limit)
    return ProductPage(
        items=[ProductRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.get("/{product_id}", response_model=ProductRead)
async def get_product(product_id: uuid.UUID, caller: Reader, session: SessionDep) -> ProductRead:
    """One of the caller's products, with the revision being edited or reviewed."""
    return ProductRead.model_validate(await service.get_product(session, caller, product_id))


@router.patch("/{product_id}", response_model=ProductRead)
async def edit_product(
    product_id: uuid.UUID, body: ProductUpdate, caller: Writer, session: SessionDep
) -> ProductRead:
    """Edit a draft in place; editing a published product opens a revision for review."""
    product = await service.edit_product(session, caller, product_id, body)
    return ProductRead.model_validate(product)


@router.get("/{product_id}/revisions", response_model=list[RevisionRead])
async def list_revisions(
    product_id: uuid.UUID, caller: Reader, session: SessionDep
) -> list[RevisionRead]:
    """The product's review history, the latest revision first."""
    revisions = await service.list_revisions(session, caller, product_id)
    return [RevisionRead.model_validate(revision) for revision in revisions]


@router.post("/{product_id}/submit", response_model=ProductRead)
async def submit_product(product_id: uuid.UUID, caller: Writer, session: SessionDep) -> ProductRead:
    """Send the draft (or the revised product) to the operator for review."""
    return ProductRead.model_validate(await service.submit_product(session, caller, product_id))


@router.post("/{product_id}/approve", response_model=ProductRead)
async def approve_product(
    product_id: uuid.UUID, caller: Moderator, session: SessionDep
) -> ProductRead:
    """Operator: publish the revision in review (product.published, or product.revised)."""
    return ProductRead.model_validate(await service.approve_product(session, caller, product_id))


@router.post("/{product_id}/reject", response_model=ProductRead)
async def reject_product(
    product_id: uuid.UUID, body: Rejection, caller: Moderator, session: SessionDep
) -> ProductRead:
    """Operator: send the revision in review back to the partner with a reason."""
    product = await service.reject_product(session, caller, product_id, body.reason)
    return ProductRead.model_validate(product)


@router.post("/{product_id}/retire", response_model=ProductRead)
async def retire_product(product_id: uuid.UUID, caller: Writer, session: SessionDep) -> ProductRead:
    """Stop selling a published product; existing subscribers can still read it."""
    return ProductRead.model_validate(await service.retire_product(session, caller, product_id))


@router.post("/{product_id}/plans/{plan_id}/price-changes", response_model=ProductRead)
async def schedule_price_change(
    product_id: uuid.UUID,
    plan_id: uuid.UUID,
    body: PriceChange,
    caller: Writer,
    session: SessionDep,
    settings: SettingsDep,
) -> ProductRead:
    """Announce a published plan's new price from a date at least the notice period ahead."""
    product = await service.schedule_price_change(
        session, caller, product_id, plan_id, body, notice_days=settings.price_notice_days
    )
    return ProductRead.model_validate(product)


@router.post("/{product_id}/plans", status_code=201, response_model=PlanRead)
async def add_plan(
    product_id: uuid.UUID,
    body: PlanCreate,
    caller: Writer,
    session: SessionDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Add a plan to a product that is not published yet."""
    return await idempotency.respond(
        lambda: service.add_plan(session, caller, product_id, body),
        response_model=PlanRead,
        location=lambda plan: f"/products/{product_id}/plans/{plan.id}",
    )


@router.patch("/{product_id}/plans/{plan_id}", response_model=PlanRead)
async def update_plan(
    product_id: uuid.UUID,
    plan_id: uuid.UUID,
    body: PlanUpdate,
    caller: Writer,
    session: SessionDep,
) -> PlanRead:
    """Change a plan of a product that is not published yet."""
    plan = await service.update_plan(session, caller, product_id, plan_id, body)
    return PlanRead.model_validate(plan)


@router.delete("/{product_id}/plans/{plan_id}", status_code=204)
async def remove_plan(
    product_id: uuid.UUID, plan_id: uuid.UUID, caller: Writer, session: SessionDep
) -> Response:
    """Remove a plan from a product that is not published yet."""
    await service.remove_plan(session, caller, product_id, plan_id)
    return Response(status_code=204)
