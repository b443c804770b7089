"""What orders knows of the catalog: the products a business can order from."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from orders.catalog.models import CatalogProduct
from orders.catalog.schemas import CatalogProductRead
from vitrina_kit.api import SessionDep
from vitrina_kit.problems import PROBLEM_RESPONSES, NotFound

router = APIRouter(prefix="/catalog", tags=["catalog"], responses=PROBLEM_RESPONSES)


class CatalogProductNotFound(NotFound):
    code = "catalog_product_not_found"
    title = "Product not found"


@router.get("/products/{product_id}", response_model=CatalogProductRead)
async def get_catalog_product(product_id: uuid.UUID, session: SessionDep) -> CatalogProductRead:
    """A product as orders knows it (eventually consistent with the catalog)."""
    product = await session.get(CatalogProduct, product_id)
    if product is None:
        raise CatalogProductNotFound(f"Orders knows no product {product_id}.")
    return CatalogProductRead.model_validate(product)
