from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from catalog.products import service
from catalog.products.schemas import ProductCreate, ProductRead
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/products", tags=["products"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Caller, requires("catalog:read")]
Writer = Annotated[Caller, requires("catalog:write")]


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


@router.get("/{product_id}", response_model=ProductRead)
async def get_product(product_id: uuid.UUID, caller: Reader, session: SessionDep) -> ProductRead:
    """One of the caller's products."""
    return ProductRead.model_validate(await service.get_product(session, caller, product_id))


@router.post("/{product_id}/publish", response_model=ProductRead)
async def publish_product(
    product_id: uuid.UUID, caller: Writer, session: SessionDep
) -> ProductRead:
    """Publish a draft product: it appears in the storefront and can be ordered."""
    return ProductRead.model_validate(await service.publish_product(session, caller, product_id))
