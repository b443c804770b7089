"""The orders service's event map: read top to bottom to see what it reacts to."""

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from orders.catalog import projection
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.catalog import ProductPublished, ProductRetired, ProductRevised
from vitrina_kit.consumer import Handler, Received


async def on_product_snapshot(
    session: AsyncSession, message: Received[ProductPublished | ProductRevised | ProductRetired]
) -> None:
    await projection.apply_product(session, message.event.product)


HANDLERS: Mapping[type[Event], Handler] = {
    ProductPublished: on_product_snapshot,
    ProductRevised: on_product_snapshot,
    ProductRetired: on_product_snapshot,
}
