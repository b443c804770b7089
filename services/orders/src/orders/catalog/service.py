"""Reading orders' copy of the catalog."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orders.catalog.models import CatalogProduct
from vitrina_kit.problems import NotFound


class CatalogProductNotFound(NotFound):
    code = "catalog_product_not_found"
    title = "Product not found"

    def __init__(self, product_id: uuid.UUID) -> None:
        super().__init__(f"Orders knows no product {product_id}.")


async def get_product(session: AsyncSession, product_id: uuid.UUID) -> CatalogProduct:
    product = await session.get(CatalogProduct, product_id)
    if product is None:
        raise CatalogProductNotFound(product_id)
    return product
