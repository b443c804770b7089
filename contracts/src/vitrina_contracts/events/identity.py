"""Events of the identity service: organizations and their legal requisites."""

from __future__ import annotations

from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field

from vitrina_contracts.events import _samples as s
from vitrina_contracts.events.base import ContractModel, Event, Inn, Kpp, Ogrn

ORGANIZATIONS = "identity.organizations"

OrganizationKind = Literal["partner", "business", "operator"]


class OrganizationSnapshot(ContractModel):
    """An organization as identity knows it now: who it is and what its documents print."""

    organization_id: UUID
    kind: OrganizationKind
    legal_name: str = Field(min_length=1, description="Full legal name as printed on documents.")
    inn: Inn
    kpp: Kpp | None = Field(
        default=None, description="None for an individual entrepreneur (12-digit INN)."
    )
    ogrn: Ogrn | None = None
    legal_address: str = Field(min_length=1, description="Legal address, one line.")
    edo_participant_id: str | None = Field(
        default=None,
        description="Participant id at the EDO operator; None until the organization joins EDO.",
    )


def _customer() -> OrganizationSnapshot:
    return OrganizationSnapshot(
        organization_id=s.CUSTOMER_ID,
        kind="business",
        legal_name=s.CUSTOMER_NAME,
        inn=s.CUSTOMER_INN,
        kpp=s.CUSTOMER_KPP,
        ogrn=s.CUSTOMER_OGRN,
        legal_address=s.CUSTOMER_ADDRESS,
    )


class OrganizationRegistered(Event):
    """A new organization (partner, business or operator) was registered."""

    event_type: ClassVar[str] = "ru.vitrina.identity.organization.registered"
    topic: ClassVar[str] = ORGANIZATIONS
    aggregate_field: ClassVar[str] = "organization.organization_id"

    organization: OrganizationSnapshot

    @classmethod
    def example(cls) -> Self:
        return cls(organization=_customer())


class OrganizationUpdated(Event):
    """An organization's requisites changed; the snapshot is the whole new state."""

    event_type: ClassVar[str] = "ru.vitrina.identity.organization.updated"
    topic: ClassVar[str] = ORGANIZATIONS
    aggregate_field: ClassVar[str] = "organization.organization_id"

    organization: OrganizationSnapshot

    @classmethod
    def example(cls) -> Self:
        joined_edo = _customer().model_copy(update={"edo_participant_id": s.CUSTOMER_EDO_ID})
        return cls(organization=joined_edo)
