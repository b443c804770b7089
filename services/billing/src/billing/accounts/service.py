"""Billing accounts as the API shows and changes them."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.accounts.domain import PaymentTerms
from billing.accounts.models import Account
from billing.invoices.service import lock_account
from billing.organizations.models import Organization
from vitrina_kit.auth import Caller
from vitrina_kit.ops import OperatorOnly
from vitrina_kit.problems import NotFound
from vitrina_kit.tenancy import visible_to


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "No such billing account"

    def __init__(self, customer_id: uuid.UUID) -> None:
        super().__init__(
            f"There is no business customer {customer_id} known to billing.",
            customer_id=str(customer_id),
        )


async def get_account(session: AsyncSession, caller: Caller, customer_id: uuid.UUID) -> Account:
    """The account of ``customer_id`` as the caller may see it. A business customer billing
    knows has an account from the start (prepaid, nothing on the balance), even before its
    first invoice created the row."""
    account = await session.scalar(
        select(Account).where(
            Account.customer_id == customer_id, visible_to(caller, Account.customer_id)
        )
    )
    if account is not None:
        return account
    if not caller.is_operator and caller.organization_id != customer_id:
        raise AccountNotFound(customer_id)
    if not await _is_business(session, customer_id):
        raise AccountNotFound(customer_id)
    return Account(customer_id=customer_id, **_defaults())


async def set_payment_terms(
    session: AsyncSession, caller: Caller, customer_id: uuid.UUID, terms: PaymentTerms
) -> Account:
    """The operator's decision (postpaid net N for a trusted customer, or back to prepaid);
    invoices already issued keep their due dates."""
    if not caller.is_operator:
        raise OperatorOnly("Payment terms are set by the marketplace operator.")
    if not await _is_business(session, customer_id):
        held = await session.get(Account, customer_id)
        if held is None:
            raise AccountNotFound(customer_id)
    account = await lock_account(session, customer_id)
    account.store(account.domain.change_terms(terms))
    await session.flush()
    return account


async def _is_business(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    kind = await session.scalar(
        select(Organization.kind).where(Organization.organization_id == customer_id)
    )
    return kind == "business"


def _defaults() -> dict[str, object]:
    terms = PaymentTerms()
    return {"terms_kind": terms.kind.value, "terms_days": terms.days, "balance": 0}
