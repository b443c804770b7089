"""Payments: a business reads its own; the operator reads all (unmatched ones to act on) and
allocates what matching could not."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from billing.payments import service
from billing.payments.models import PaymentStatus
from billing.payments.schemas import (
    AllocationCreate,
    AllocationRead,
    PaymentDetail,
    PaymentPage,
    PaymentRead,
)
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/payments", tags=["payments"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Caller, requires("billing:read")]
Writer = Annotated[Caller, requires("billing:write")]


@router.get("", response_model=PaymentPage)
async def list_payments(
    caller: Reader,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    status: Annotated[
        PaymentStatus | None, Query(description="unmatched: what waits for the operator.")
    ] = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Operator: one customer's.")] = None,
) -> PaymentPage:
    """The caller's payments, newest first."""
    items, next_cursor = await service.payments_page(
        session, caller, cursor=cursor, limit=limit, status=status, customer_id=customer_id
    )
    return PaymentPage(
        items=[PaymentRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.get("/{payment_id}", response_model=PaymentDetail)
async def get_payment(payment_id: uuid.UUID, caller: Reader, session: SessionDep) -> PaymentDetail:
    payment, allocations = await service.get_payment(session, caller, payment_id)
    return PaymentDetail.model_validate(
        PaymentRead.model_validate(payment).model_dump()
        | {"allocations": [AllocationRead.model_validate(a) for a in allocations]}
    )


@router.post("/{payment_id}/allocations", status_code=201, response_model=PaymentRead)
async def allocate(
    payment_id: uuid.UUID,
    body: AllocationCreate,
    caller: Writer,
    session: SessionDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Operator: apply part of a payment to an invoice. 422: a non-positive or sub-kopeck
    amount, more than the payment has unallocated or the invoice has due; 409: a paid or voided
    invoice, or another customer's than the payment's. Nothing changes on refusal."""
    return await idempotency.respond(
        lambda: service.allocate(
            session, caller, payment_id, invoice_id=body.invoice_id, amount=body.amount
        ),
        response_model=PaymentRead,
        location=lambda payment: f"/payments/{payment.payment_id}",
    )
