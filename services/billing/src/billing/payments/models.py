"""Payments received and where their money went."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billing.database import Base
from billing.payments.domain import PaymentBalance


class PaymentStatus(StrEnum):
    ALLOCATED = "allocated"
    """Nothing left for the operator: applied to invoices, the rest (if any) on the balance."""
    ADVANCE = "advance"
    """All of it on the customer's balance, applied to the next invoice."""
    UNMATCHED = "unmatched"
    """Some of it waits for the operator (all of it, until the first manual allocation)."""


class AllocationSource(StrEnum):
    MATCHED = "matched"
    """Matching applied it by the payment's purpose."""
    MANUAL = "manual"
    """The operator allocated it."""
    BALANCE = "balance"
    """The customer's advance paid a new invoice (no payment of its own)."""


class Payment(Base):
    """One incoming bank payment. ``bank_payment_id`` and ``statement_line`` are both unique:
    a statement line re-imported under a new id is still the same money, counted once."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("bank_payment_id"),
        UniqueConstraint("statement_line"),
        CheckConstraint(
            "allocated >= 0 AND advanced >= 0 AND allocated + advanced <= amount",
            name="allocated_within_amount",
        ),
        Index("ix_payments_customer_page", "customer_id", "created_at", "payment_id"),
        Index(
            "ix_payments_unmatched",
            "created_at",
            "payment_id",
            postgresql_where=text("status = 'unmatched'"),
        ),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    bank_payment_id: Mapped[uuid.UUID]
    statement_line: Mapped[str] = mapped_column(String(200))
    """The line's identity in the bank's words (:func:`billing.payments.service.statement_line`)."""
    customer_id: Mapped[uuid.UUID | None]
    """Whose money it is; None until matching or the operator decides."""
    received_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    allocated: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    """Applied to invoices."""
    advanced: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    """Credited to the customer's balance (an overpayment or an advance)."""
    status: Mapped[str] = mapped_column(String(20))
    """A :class:`PaymentStatus`."""
    reason: Mapped[str] = mapped_column(Text)
    """Why it is unmatched (or went to the balance whole), for the operator."""
    # The payment's aggregate version in billing.payments (received is 1, each event +1).
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """The contract's ``Payment``, as published."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def balance(self) -> PaymentBalance:
        # What is on the balance already left the payment: only the rest can be allocated.
        return PaymentBalance(
            self.payment_id, self.amount, self.customer_id, self.allocated + self.advanced
        )

    @property
    def unallocated(self) -> Decimal:
        return self.amount - self.allocated - self.advanced


class PaymentAllocation(Base):
    """Money applied to one invoice: part of a payment, or of the customer's balance."""

    __tablename__ = "payment_allocations"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    allocation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payments.payment_id"), index=True
    )
    """None when the balance paid (its money came from earlier payments' advances)."""
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.invoice_id"), index=True)
    customer_id: Mapped[uuid.UUID]
    source: Mapped[str] = mapped_column(String(10))
    """An :class:`AllocationSource`."""
    amount: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    allocated_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
