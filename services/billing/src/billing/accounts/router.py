"""A business reads its billing account; the operator reads any and sets payment terms."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from billing.accounts import service
from billing.accounts.domain import PaymentTerms
from billing.accounts.schemas import AccountRead, PaymentTermsWrite
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/accounts", tags=["accounts"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Caller, requires("billing:read")]
Writer = Annotated[Caller, requires("billing:write")]


@router.get("/me", response_model=AccountRead)
async def my_account(caller: Reader, session: SessionDep) -> AccountRead:
    """The caller's own account: payment terms and balance."""
    account = await service.get_account(session, caller, caller.organization_id)
    return AccountRead.model_validate(account)


@router.get("/{customer_id}", response_model=AccountRead)
async def get_account(customer_id: uuid.UUID, caller: Reader, session: SessionDep) -> AccountRead:
    return AccountRead.model_validate(await service.get_account(session, caller, customer_id))


@router.put("/{customer_id}/payment-terms", response_model=AccountRead)
async def set_payment_terms(
    customer_id: uuid.UUID, body: PaymentTermsWrite, caller: Writer, session: SessionDep
) -> AccountRead:
    """Operator: prepaid (days to pay) or postpaid net N days (a PUT: repeating it is safe)."""
    terms = PaymentTerms(body.kind, body.days)
    account = await service.set_payment_terms(session, caller, customer_id, terms)
    return AccountRead.model_validate(account)
