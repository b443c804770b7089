"""The catalog's event map: what it does with events of other services."""

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.organizations import projection as organizations
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.identity import OrganizationRegistered, OrganizationUpdated
from vitrina_kit.consumer import Handler, Received


async def on_organization_snapshot(
    session: AsyncSession, message: Received[OrganizationRegistered | OrganizationUpdated]
) -> None:
    """The storefront names each product's seller."""
    await organizations.apply_organization(
        session, message.event.organization, version=message.envelope.aggregateversion
    )


HANDLERS: Mapping[type[Event], Handler] = {
    OrganizationRegistered: on_organization_snapshot,
    OrganizationUpdated: on_organization_snapshot,
}
