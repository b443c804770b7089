from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from identity.organizations import domain
from identity.organizations.domain import OrganizationStatus
from vitrina_contracts.events.base import Inn, Kpp, Ogrn
from vitrina_kit.api import RequestModel, ResponseModel
from vitrina_kit.auth import OrganizationKind

LegalName = Annotated[str, Field(min_length=2, max_length=500)]
ShortName = Annotated[str, Field(min_length=2, max_length=200)]
Address = Annotated[str, Field(min_length=5, max_length=500)]
Email = Annotated[
    str,
    Field(
        max_length=254,
        pattern=r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
        examples=["buh@romashka.ru"],
    ),
]
Phone = Annotated[
    str,
    Field(pattern=r"^\+[1-9][0-9]{7,14}$", description="E.164", examples=["+74951234567"]),
]
EdoParticipantId = Annotated[
    str,
    Field(
        pattern=r"^[0-9A-Z]{3}-[0-9A-Za-z-]{1,96}$",
        description="The participant id at the EDO operator: its 3-character prefix, a dash, "
        "the rest.",
        examples=["2BM-5012345672-501201001-000000000000042"],
    ),
]


class BankDetails(RequestModel):
    bank_name: str = Field(min_length=2, max_length=200)
    bik: str = Field(pattern=r"^[0-9]{9}$", description="БИК: 9 digits.")
    settlement_account: str = Field(
        pattern=r"^[0-9]{20}$", description="Расчётный счёт: 20 digits, keyed with the BIK."
    )
    correspondent_account: str | None = Field(
        default=None, pattern=r"^[0-9]{20}$", description="Корр. счёт of the bank: 20 digits."
    )

    @field_validator("settlement_account")
    @classmethod
    def _settlement_account_key(cls, account: str, info: ValidationInfo) -> str:
        bik = info.data.get("bik")
        if bik is not None and not domain.settlement_account_is_valid(account, bik):
            raise ValueError("the account's control key does not match the BIK")
        return account

    @field_validator("correspondent_account")
    @classmethod
    def _correspondent_account_key(cls, account: str | None, info: ValidationInfo) -> str | None:
        bik = info.data.get("bik")
        if (
            account is not None
            and bik is not None
            and not domain.correspondent_account_is_valid(account, bik)
        ):
            raise ValueError("not a correspondent account of the bank with this BIK")
        return account


class _Requisites(RequestModel):
    """What every registration says about the organization; the order of the fields matters:
    KPP and OGRN are checked against the INN before them."""

    legal_name: LegalName
    short_name: ShortName | None = None
    inn: Inn
    kpp: Kpp | None = Field(
        default=None,
        validate_default=True,
        description="Required for a legal entity (10-digit INN); absent for an individual "
        "entrepreneur (12-digit INN).",
    )
    ogrn: Ogrn | None = Field(
        default=None,
        description="13 digits for a legal entity (ОГРН), 15 for an entrepreneur (ОГРНИП).",
    )
    legal_address: Address
    bank_details: BankDetails | None = None
    edo_participant_id: EdoParticipantId | None = None

    @field_validator("kpp")
    @classmethod
    def _kpp_fits_the_inn(cls, kpp: str | None, info: ValidationInfo) -> str | None:
        inn = info.data.get("inn")
        if inn is not None and (problem := domain.kpp_problem(inn, kpp)):
            raise ValueError(problem)
        return kpp

    @field_validator("ogrn")
    @classmethod
    def _ogrn_fits_the_inn(cls, ogrn: str | None, info: ValidationInfo) -> str | None:
        inn = info.data.get("inn")
        if inn is not None and (problem := domain.ogrn_problem(inn, ogrn)):
            raise ValueError(problem)
        return ogrn


class OrganizationCreate(_Requisites):
    """The operator registers an organization: it is active at once."""

    kind: OrganizationKind
    contact_email: Email | None = None
    contact_phone: Phone | None = None


class OrganizationRegistration(_Requisites):
    """A partner or business registers itself: pending until the operator approves it."""

    kind: Literal[OrganizationKind.PARTNER, OrganizationKind.BUSINESS]
    contact_email: Email = Field(description="Where the operator answers the application.")
    contact_phone: Phone | None = None


class OrganizationUpdate(RequestModel):
    """The mutable part of an organization; a field left out stays as it is, null clears it.

    INN, OGRN and kind identify the organization and do not change; KPP does (a move to
    another tax office).
    """

    legal_name: LegalName | None = None
    short_name: ShortName | None = None
    kpp: Kpp | None = None
    legal_address: Address | None = None
    bank_details: BankDetails | None = None
    edo_participant_id: EdoParticipantId | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None

    @field_validator("legal_name", "legal_address")
    @classmethod
    def _required(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("cannot be cleared, only changed")
        return value


class Rejection(RequestModel):
    reason: str = Field(min_length=3, max_length=1000)


class BankDetailsRead(ResponseModel):
    bank_name: str
    bik: str
    settlement_account: str
    correspondent_account: str | None


class OrganizationRead(ResponseModel):
    id: uuid.UUID
    kind: OrganizationKind
    status: OrganizationStatus
    legal_name: str
    short_name: str | None
    inn: str
    kpp: str | None
    ogrn: str | None
    legal_address: str
    bank_details: BankDetailsRead | None
    edo_participant_id: str | None
    contact_email: str | None
    contact_phone: str | None
    rejection_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class OrganizationPage(ResponseModel):
    items: list[OrganizationRead]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
