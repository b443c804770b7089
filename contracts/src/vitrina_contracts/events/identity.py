"""Events of the identity service: organizations and their legal requisites."""

from __future__ import annotations

from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field

from vitrina_contracts.events import _samples as s
from vitrina_contracts.events.base import ContractModel, Event, Inn, Kpp, Ogrn

ORGANIZATIONS = "identity.organizations"

OrganizationKind = Literal["partner", "business", "operator"]

OrganizationStatus = Literal["pending", "active", "rejected"]
"""``pending``: registered by itself, waiting for the operator; ``active``: may use the
marketplace; ``rejected``: the operator refused the registration (``rejection_reason`` says why)."""


class BankDetails(ContractModel):
    """Where the organization receives payments (printed on invoices and UPDs)."""

    bank_name: str = Field(min_length=1)
    bik: str = Field(pattern=r"^[0-9]{9}$", description="The bank's BIK (БИК).")
    settlement_account: str = Field(
        pattern=r"^[0-9]{20}$", description="Settlement account (расчётный счёт)."
    )
    correspondent_account: str | None = Field(
        default=None,
        pattern=r"^[0-9]{20}$",
        description="The bank's correspondent account (корр. счёт); None for a treasury account.",
    )


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
    # Added with the Identity issue; optional so that earlier events stay readable.
    status: OrganizationStatus | None = Field(
        default=None, description="None only in events published before statuses existed."
    )
    short_name: str | None = Field(
        default=None, description="Short legal name, e.g. ООО «Ромашка»."
    )
    bank_details: BankDetails | None = None
    contact_email: str | None = None
    contact_phone: str | None = Field(default=None, description="E.164, e.g. +74951234567.")
    rejection_reason: str | None = Field(
        default=None, description="Why the operator rejected the registration."
    )
    version: int | None = Field(
        default=None, ge=1, description="The organization's version; the envelope's too."
    )


CUSTOMER_BANK = BankDetails(
    bank_name="ПАО Сбербанк",
    bik="044525225",
    settlement_account="40702810938000012345",
    correspondent_account="30101810400000000225",
)


def _customer() -> OrganizationSnapshot:
    return OrganizationSnapshot(
        organization_id=s.CUSTOMER_ID,
        kind="business",
        legal_name="Общество с ограниченной ответственностью «Ромашка»",
        short_name=s.CUSTOMER_NAME,
        inn=s.CUSTOMER_INN,
        kpp=s.CUSTOMER_KPP,
        ogrn=s.CUSTOMER_OGRN,
        legal_address=s.CUSTOMER_ADDRESS,
        status="pending",
        bank_details=CUSTOMER_BANK,
        contact_email="buh@romashka.example",
        contact_phone="+74951234567",
        version=1,
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
    """An organization changed: approved, rejected or its requisites edited; the snapshot is
    the whole new state."""

    event_type: ClassVar[str] = "ru.vitrina.identity.organization.updated"
    topic: ClassVar[str] = ORGANIZATIONS
    aggregate_field: ClassVar[str] = "organization.organization_id"

    organization: OrganizationSnapshot

    @classmethod
    def example(cls) -> Self:
        approved_and_joined_edo = _customer().model_copy(
            update={"status": "active", "edo_participant_id": s.CUSTOMER_EDO_ID, "version": 3}
        )
        return cls(organization=approved_and_joined_edo)
