"""The orders service's event map: read top to bottom to see what it reacts to."""

from collections.abc import Mapping
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from orders.catalog import projection as catalog
from orders.organizations import projection as organizations
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.catalog import (
    PlanPriceScheduled,
    ProductPublished,
    ProductRetired,
    ProductRevised,
)
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationUpdated
from vitrina_kit.consumer import Handler, Received


async def on_organization_snapshot(
    session: AsyncSession, message: Received[OrganizationRegistered | OrganizationUpdated]
) -> None:
    await organizations.apply_organization(
        session, message.event.organization, version=message.envelope.aggregateversion
    )


async def on_product_snapshot(
    session: AsyncSession, message: Received[ProductPublished | ProductRevised | ProductRetired]
) -> None:
    await catalog.apply_product(session, message.event.product)


async def on_plan_price_scheduled(
    session: AsyncSession, message: Received[PlanPriceScheduled]
) -> None:
    # The catalog settles an earlier scheduled price against its own (UTC) day of announcement.
    announced_on = message.envelope.time.astimezone(UTC).date()
    await catalog.apply_price_scheduled(session, message.event, announced_on=announced_on)


HANDLERS: Mapping[type[Event], Handler] = {
    OrganizationRegistered: on_organization_snapshot,
    OrganizationUpdated: on_organization_snapshot,
    ProductPublished: on_product_snapshot,
    ProductRevised: on_product_snapshot,
    ProductRetired: on_product_snapshot,
    PlanPriceScheduled: on_plan_price_scheduled,
}
