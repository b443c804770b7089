"""Identity's use cases for API clients. Callers own the transaction; this module only flushes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from identity.clients import domain, repository
from identity.clients.domain import ClientStatus
from identity.clients.models import ApiClient
from identity.clients.schemas import ClientCreate
from identity.organizations import service as organizations
from identity.organizations.domain import OrganizationStatus
from identity.organizations.models import Organization
from identity.settings import IdentitySettings
from vitrina_kit.auth import Caller, OrganizationKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientWithSecret:
    """A client together with the secret it was just given (shown to the caller once)."""

    client: ApiClient
    client_secret: str


def _pepper(settings: IdentitySettings) -> str:
    return settings.client_secret_pepper.get_secret_value()


async def create_client(
    session: AsyncSession,
    settings: IdentitySettings,
    caller: Caller,
    organization_id: uuid.UUID,
    data: ClientCreate,
) -> ClientWithSecret:
    """A new client of the organization, with a fresh secret."""
    organization = await organizations.get_organization(session, caller, organization_id)
    if organization.status == OrganizationStatus.REJECTED:
        raise domain.OrganizationCannotHaveClients()
    scopes = domain.check_scopes(OrganizationKind(organization.kind), data.scopes)
    secret = domain.new_secret()
    client = ApiClient(
        client_id=domain.new_client_id(),
        organization_id=organization.id,
        name=data.name,
        scopes=scopes,
        status=ClientStatus.ACTIVE,
        secret_hash=domain.hash_secret(secret, pepper=_pepper(settings)),
    )
    session.add(client)
    await session.flush()
    await session.refresh(client)
    return ClientWithSecret(client=client, client_secret=secret)


async def list_clients(
    session: AsyncSession, caller: Caller, organization_id: uuid.UUID
) -> Sequence[ApiClient]:
    organization = await organizations.get_organization(session, caller, organization_id)
    return await repository.of_organization(session, organization.id)


async def get_client(
    session: AsyncSession,
    caller: Caller,
    organization_id: uuid.UUID,
    client_id: str,
    *,
    for_update: bool = False,
) -> ApiClient:
    """The client if its organization is visible to the caller and it belongs there."""
    organization = await organizations.get_organization(session, caller, organization_id)
    client = await repository.get_of_organization(
        session, organization.id, client_id, for_update=for_update
    )
    if client is None:
        raise domain.ClientNotFound(client_id)
    return client


async def rotate_secret(
    session: AsyncSession,
    settings: IdentitySettings,
    caller: Caller,
    organization_id: uuid.UUID,
    client_id: str,
    now: datetime,
) -> ClientWithSecret:
    """A new secret; the one it replaces keeps working for the overlap window, so a client's
    replicas can move to the new one without a moment without tokens. (The secret before that
    stops at once: only one previous secret is kept.)"""
    client = await get_client(session, caller, organization_id, client_id, for_update=True)
    if client.status == ClientStatus.REVOKED:
        raise domain.ClientRevoked(client_id)
    secret = domain.new_secret()
    client.previous_secret_hash = client.secret_hash
    client.previous_secret_expires_at = now + timedelta(hours=settings.client_secret_overlap_hours)
    client.secret_hash = domain.hash_secret(secret, pepper=_pepper(settings))
    client.secret_rotated_at = now
    await session.flush()
    await session.refresh(client)
    return ClientWithSecret(client=client, client_secret=secret)


async def revoke(
    session: AsyncSession,
    caller: Caller,
    organization_id: uuid.UUID,
    client_id: str,
    now: datetime,
) -> ApiClient:
    """The client gets no more tokens. Tokens it already has stay valid where they are checked
    offline (every API verifies the signature, not with identity) until they expire, at most
    the token lifetime; introspection reports them inactive at once."""
    client = await get_client(session, caller, organization_id, client_id, for_update=True)
    if client.status == ClientStatus.REVOKED:
        raise domain.ClientRevoked(client_id)
    client.status = ClientStatus.REVOKED
    client.revoked_at = now
    client.previous_secret_hash = None
    client.previous_secret_expires_at = None
    await session.flush()
    await session.refresh(client)
    return client


async def authenticate(
    session: AsyncSession, settings: IdentitySettings, client_id: str, secret: str, now: datetime
) -> ApiClient | None:
    """The active client these credentials open, or None (unknown, wrong secret, revoked)."""
    client = await repository.get(session, client_id)
    if client is None:
        # Spend the same hashing work as for a known client: answer time says nothing.
        domain.hash_secret(secret, pepper=_pepper(settings))
        return None
    opened = domain.secret_matches(
        secret,
        pepper=_pepper(settings),
        current_hash=client.secret_hash,
        previous_hash=client.previous_secret_hash,
        previous_expires_at=client.previous_secret_expires_at,
        now=now,
    )
    return client if opened and client.status == ClientStatus.ACTIVE else None


async def ensure_bootstrap_client(
    session: AsyncSession, settings: IdentitySettings, organization: Organization
) -> ApiClient:
    """The operator's client from the settings: created on first start, its secret replaced
    when the setting changed, its scopes kept to every operator scope. A revoked one stays
    revoked (someone meant it): a new client id in the settings is the way back."""
    client_id = settings.bootstrap_operator_client_id
    secret = settings.bootstrap_operator_client_secret.get_secret_value()
    secret_hash = domain.hash_secret(secret, pepper=_pepper(settings))
    scopes = sorted(domain.ALLOWED_SCOPES[OrganizationKind.OPERATOR])
    client = await repository.get(session, client_id, for_update=True)
    if client is None:
        client = ApiClient(
            client_id=client_id,
            organization_id=organization.id,
            name="Bootstrap operator client (from the settings)",
            scopes=scopes,
            status=ClientStatus.ACTIVE,
            secret_hash=secret_hash,
        )
        session.add(client)
    else:
        if client.organization_id != organization.id:
            raise RuntimeError(f"the client id {client_id} belongs to another organization")
        if client.secret_hash != secret_hash:
            client.secret_hash = secret_hash
            client.previous_secret_hash = None
            client.previous_secret_expires_at = None
        if list(client.scopes) != scopes:
            client.scopes = scopes
        if client.status == ClientStatus.REVOKED:
            logger.warning("the bootstrap operator client %s is revoked", client_id)
    await session.flush()
    return client
