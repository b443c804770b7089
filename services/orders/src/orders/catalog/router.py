"""What orders knows of the catalog: the products a business can order from."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from orders.catalog import service
from orders.catalog.schemas import CatalogProductRead
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/catalog", tags=["catalog"], responses=PROBLEM_RESPONSES)


@router.get("/products/{product_id}", response_model=CatalogProductRead)
async def get_catalog_product(
    product_id: uuid.UUID, _: Annotated[Caller, requires("orders:read")], session: SessionDep
) -> CatalogProductRead:
    """A product as orders knows it (eventually consistent with the catalog)."""
    return CatalogProductRead.model_validate(await service.get_product(session, product_id))
