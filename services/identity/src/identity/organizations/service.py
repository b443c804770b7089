"""Identity's use cases for organizations. Callers own the transaction; this module only flushes.

Every change writes ``organization.registered`` or ``organization.updated`` to the outbox in the
same transaction, with the whole new snapshot and the new version, keyed and tenanted by the
organization's id.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from identity.organizations import domain, repository
from identity.organizations.domain import BankAccount, OrganizationStatus
from identity.organizations.models import Organization
from identity.organizations.schemas import (
    BankDetails,
    OrganizationCreate,
    OrganizationRegistration,
    OrganizationUpdate,
)
from vitrina_contracts.events import identity as events
from vitrina_kit.auth import Caller, InsufficientScope
from vitrina_kit.outbox import add_event
from vitrina_kit.pagination import decode_cursor, encode_cursor

ADMIN_SCOPE = "identity:admin"


def require_operator(caller: Caller) -> None:
    """Operator-only actions: the scope vocabulary already keeps ``identity:admin`` from other
    kinds; checking the kind too keeps one mistake in a client's scopes from being enough."""
    if not caller.is_operator:
        raise InsufficientScope([ADMIN_SCOPE])


async def register_by_operator(
    session: AsyncSession, caller: Caller, data: OrganizationCreate
) -> Organization:
    require_operator(caller)
    return await _register(session, data, status=OrganizationStatus.ACTIVE)


async def register_self(session: AsyncSession, data: OrganizationRegistration) -> Organization:
    return await _register(session, data, status=OrganizationStatus.PENDING)


async def _register(
    session: AsyncSession,
    data: OrganizationCreate | OrganizationRegistration,
    *,
    status: OrganizationStatus,
    organization_id: uuid.UUID | None = None,
) -> Organization:
    if await repository.live_registration_exists(session, data.inn, data.kpp):
        raise domain.OrganizationAlreadyRegistered(data.inn, data.kpp)
    organization = Organization(
        id=organization_id or uuid.uuid4(),
        kind=data.kind,
        status=status,
        legal_name=data.legal_name,
        short_name=data.short_name,
        inn=data.inn,
        kpp=data.kpp,
        ogrn=data.ogrn,
        legal_address=data.legal_address,
        edo_participant_id=data.edo_participant_id,
        contact_email=data.contact_email,
        contact_phone=data.contact_phone,
        version=1,
    )
    organization.bank_details = _bank_account(data.bank_details)
    session.add(organization)
    try:
        await session.flush()
    except IntegrityError as error:
        # Two registrations raced for the same INN/KPP; the unique index decided.
        raise domain.OrganizationAlreadyRegistered(data.inn, data.kpp) from error
    await session.refresh(organization)
    await _publish(session, organization, registered=True)
    return organization


async def ensure_operator_organization(
    session: AsyncSession, data: OrganizationCreate, *, organization_id: uuid.UUID
) -> Organization:
    """The operator's own organization, registered on first start (idempotent)."""
    existing = await repository.get(session, organization_id, for_update=True)
    if existing is not None:
        return existing
    return await _register(
        session, data, status=OrganizationStatus.ACTIVE, organization_id=organization_id
    )


async def get_organization(
    session: AsyncSession, caller: Caller, organization_id: uuid.UUID, *, for_update: bool = False
) -> Organization:
    """The organization if the caller may see it; any other is not found (404, not 403: an id
    tells nothing about whether it exists)."""
    organization = await repository.get_visible(
        session, organization_id, caller, for_update=for_update
    )
    if organization is None:
        raise domain.OrganizationNotFound(organization_id)
    return organization


async def list_organizations(
    session: AsyncSession,
    caller: Caller,
    *,
    cursor: str | None,
    limit: int,
    status: OrganizationStatus | None,
) -> tuple[list[Organization], str | None]:
    """A page of the organizations the caller sees, and the cursor of the next page."""
    rows = list(
        await repository.page(
            session, caller, after=decode_cursor(cursor), limit=limit + 1, status=status
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor((rows[-1].created_at, rows[-1].id)) if more else None


async def update_organization(
    session: AsyncSession, caller: Caller, organization_id: uuid.UUID, data: OrganizationUpdate
) -> Organization:
    organization = await get_organization(session, caller, organization_id, for_update=True)
    changes = data.model_dump(exclude_unset=True, exclude={"bank_details"})
    if "kpp" in changes and (problem := domain.kpp_problem(organization.inn, changes["kpp"])):
        raise domain.RequisitesDoNotFit("body.kpp", problem)
    changed = False
    for field, value in changes.items():
        if getattr(organization, field) != value:
            setattr(organization, field, value)
            changed = True
    if "bank_details" in data.model_fields_set:
        account = _bank_account(data.bank_details)
        if organization.bank_details != account:
            organization.bank_details = account
            changed = True
    if changed:  # a PATCH that changes nothing is no event
        await _changed(session, organization)
    return organization


async def approve(
    session: AsyncSession, caller: Caller, organization_id: uuid.UUID
) -> Organization:
    require_operator(caller)
    organization = await get_organization(session, caller, organization_id, for_update=True)
    organization.status = domain.approve(OrganizationStatus(organization.status))
    await _changed(session, organization)
    return organization


async def reject(
    session: AsyncSession, caller: Caller, organization_id: uuid.UUID, reason: str
) -> Organization:
    require_operator(caller)
    organization = await get_organization(session, caller, organization_id, for_update=True)
    organization.status = domain.reject(OrganizationStatus(organization.status))
    organization.rejection_reason = reason
    await _changed(session, organization)
    return organization


async def _changed(session: AsyncSession, organization: Organization) -> None:
    organization.version += 1
    try:
        await session.flush()
    except IntegrityError as error:
        # A new KPP that another live registration of the same INN already has.
        raise domain.OrganizationAlreadyRegistered(organization.inn, organization.kpp) from error
    await session.refresh(organization)
    await _publish(session, organization, registered=False)


async def _publish(session: AsyncSession, organization: Organization, *, registered: bool) -> None:
    event_class = events.OrganizationRegistered if registered else events.OrganizationUpdated
    await add_event(
        session,
        event_class(organization=snapshot(organization)),
        subject=str(organization.id),
        aggregate_version=organization.version,
        tenant_id=str(organization.id),
    )


def snapshot(organization: Organization) -> events.OrganizationSnapshot:
    """The organization as the ``identity.organizations`` contract carries it."""
    bank = organization.bank_details
    return events.OrganizationSnapshot(
        organization_id=organization.id,
        kind=organization.kind,
        status=organization.status,
        legal_name=organization.legal_name,
        short_name=organization.short_name,
        inn=organization.inn,
        kpp=organization.kpp,
        ogrn=organization.ogrn,
        legal_address=organization.legal_address,
        bank_details=events.BankDetails(
            bank_name=bank.bank_name,
            bik=bank.bik,
            settlement_account=bank.settlement_account,
            correspondent_account=bank.correspondent_account,
        )
        if bank
        else None,
        edo_participant_id=organization.edo_participant_id,
        contact_email=organization.contact_email,
        contact_phone=organization.contact_phone,
        rejection_reason=organization.rejection_reason,
        version=organization.version,
    )


def _bank_account(details: BankDetails | None) -> BankAccount | None:
    if details is None:
        return None
    return BankAccount(
        bank_name=details.bank_name,
        bik=details.bik,
        settlement_account=details.settlement_account,
        correspondent_account=details.correspondent_account,
    )
