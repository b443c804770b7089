"""Organizations as identity's rules see them: plain values, no I/O.

The check digits of INN, KPP and OGRN are the contracts' (``vitrina_contracts.events.base``),
written once for every service; what is identity's own is how the requisites fit together (a
legal entity has a KPP and a 13-digit OGRN, an entrepreneur neither a KPP nor anything but a
15-digit OGRNIP), the bank account keys, and the registration workflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from vitrina_kit.auth import OrganizationKind
from vitrina_kit.problems import Conflict, InvalidStateTransition, NotFound, UnprocessableEntity


class OrganizationStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"


SELF_SERVICE_KINDS = frozenset({OrganizationKind.PARTNER, OrganizationKind.BUSINESS})
"""Who may register without the operator: the operator's own organizations it registers itself."""


@dataclass(frozen=True)
class BankAccount:
    bank_name: str
    bik: str
    settlement_account: str
    correspondent_account: str | None


# -- requisites ---------------------------------------------------------------------------


def is_legal_entity(inn: str) -> bool:
    """A 10-digit INN is a legal entity's; a 12-digit one an individual entrepreneur's."""
    return len(inn) == 10


def kpp_problem(inn: str, kpp: str | None) -> str | None:
    """Why ``kpp`` does not fit the organization of ``inn`` (None: it fits)."""
    if is_legal_entity(inn) and kpp is None:
        return "a legal entity (10-digit INN) must have a KPP"
    if not is_legal_entity(inn) and kpp is not None:
        return "an individual entrepreneur (12-digit INN) has no KPP"
    return None


def ogrn_problem(inn: str, ogrn: str | None) -> str | None:
    """Why ``ogrn`` does not fit the organization of ``inn`` (None: it fits or is absent)."""
    if ogrn is None:
        return None
    if is_legal_entity(inn) and len(ogrn) != 13:
        return "a legal entity (10-digit INN) has a 13-digit OGRN"
    if not is_legal_entity(inn) and len(ogrn) != 15:
        return "an individual entrepreneur (12-digit INN) has a 15-digit OGRNIP"
    return None


# The Bank of Russia's control key of an account number: the 23 digits formed from part of the
# BIK and the 20-digit account, weighted 7-1-3 repeatedly, sum to a multiple of 10.
_ACCOUNT_KEY_WEIGHTS = (7, 1, 3) * 8
_NINE_DIGITS = re.compile(r"[0-9]{9}")
_TWENTY_DIGITS = re.compile(r"[0-9]{20}")


def _control_key_holds(digits: str) -> bool:
    return sum(int(d) * w for d, w in zip(digits, _ACCOUNT_KEY_WEIGHTS, strict=False)) % 10 == 0


def settlement_account_is_valid(account: str, bik: str) -> bool:
    """A settlement account at the bank of ``bik`` (keyed with the BIK's last three digits)."""
    if not (_TWENTY_DIGITS.fullmatch(account) and _NINE_DIGITS.fullmatch(bik)):
        return False
    return _control_key_holds(bik[-3:] + account)


def correspondent_account_is_valid(account: str, bik: str) -> bool:
    """The bank's correspondent account at the Bank of Russia: "301…", ending in the BIK's
    last three digits (the bank's number), keyed with "0" and the BIK's fifth and sixth."""
    if not (_TWENTY_DIGITS.fullmatch(account) and _NINE_DIGITS.fullmatch(bik)):
        return False
    return (
        account.startswith("301")
        and account[-3:] == bik[-3:]
        and _control_key_holds("0" + bik[4:6] + account)
    )


# -- the registration workflow --------------------------------------------------------------


class OrganizationNotFound(NotFound):
    code = "organization_not_found"
    title = "Organization not found"

    def __init__(self, organization_id: UUID) -> None:
        super().__init__(f"There is no organization {organization_id} you can see.")


class OrganizationAlreadyRegistered(Conflict):
    code = "organization_already_registered"
    title = "An organization with these INN and KPP is already registered"

    def __init__(self, inn: str, kpp: str | None) -> None:
        which = f"INN {inn}" + (f", KPP {kpp}" if kpp else "")
        super().__init__(
            f"An organization with {which} is registered or waiting for approval.",
            inn=inn,
            kpp=kpp,
        )


class OrganizationCannotBeApproved(InvalidStateTransition):
    code = "organization_cannot_be_approved"
    title = "The organization cannot be approved in its current status"

    def __init__(self, status: OrganizationStatus) -> None:
        super().__init__(f"A {status} organization cannot be approved; only a pending one can.")


class OrganizationCannotBeRejected(InvalidStateTransition):
    code = "organization_cannot_be_rejected"
    title = "The organization cannot be rejected in its current status"

    def __init__(self, status: OrganizationStatus) -> None:
        super().__init__(f"A {status} organization cannot be rejected; only a pending one can.")


class RequisitesDoNotFit(UnprocessableEntity):
    code = "invalid_request"
    title = "The request is not valid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            f"{field}: {reason}", **{"invalid-params": [{"name": field, "reason": reason}]}
        )


def approve(status: OrganizationStatus) -> OrganizationStatus:
    """The status after the operator approves: only a pending registration can be."""
    if status is not OrganizationStatus.PENDING:
        raise OrganizationCannotBeApproved(status)
    return OrganizationStatus.ACTIVE


def reject(status: OrganizationStatus) -> OrganizationStatus:
    """The status after the operator rejects: only a pending registration can be."""
    if status is not OrganizationStatus.PENDING:
        raise OrganizationCannotBeRejected(status)
    return OrganizationStatus.REJECTED
