"""What the payments API takes and returns."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from billing.payments.models import AllocationSource, PaymentStatus
from vitrina_contracts.events.billing import Payment
from vitrina_kit.api import RequestModel, ResponseModel


class AllocationCreate(RequestModel):
    invoice_id: uuid.UUID
    amount: Decimal = Field(
        description="Roubles with at most two decimals, positive, at most the payment's "
        "unallocated amount and the invoice's amount due.",
        max_digits=19,
    )


class AllocationRead(ResponseModel):
    allocation_id: uuid.UUID
    invoice_id: uuid.UUID
    source: AllocationSource
    amount: Decimal
    allocated_by: str | None
    created_at: datetime


class PaymentRead(ResponseModel):
    payment_id: uuid.UUID
    customer_id: uuid.UUID | None
    received_on: date
    amount: Decimal
    allocated: Decimal = Field(description="Applied to invoices.")
    advanced: Decimal = Field(description="Credited to the customer's balance.")
    unallocated: Decimal = Field(description="Waiting for the operator.")
    status: PaymentStatus
    reason: str = Field(description="Why it waits for the operator (or went to the balance).")
    created_at: datetime
    document: Payment


class PaymentDetail(PaymentRead):
    allocations: list[AllocationRead]


class PaymentPage(ResponseModel):
    items: list[PaymentRead]
    next_cursor: str | None
