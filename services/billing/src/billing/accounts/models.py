"""Customers' billing accounts."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, DateTime, Integer, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from billing.accounts.domain import BillingAccount, PaymentTerms, PaymentTermsKind
from billing.database import Base


class Account(Base):
    """One business's account. Its row is also the lock that serializes issuing documents to
    the customer: every run step and reaction takes it first (FOR UPDATE), then re-reads."""

    __tablename__ = "billing_accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    terms_kind: Mapped[str] = mapped_column(String(10))
    terms_days: Mapped[int] = mapped_column(Integer)
    balance: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def domain(self) -> BillingAccount:
        terms = PaymentTerms(PaymentTermsKind(self.terms_kind), self.terms_days)
        return BillingAccount(self.customer_id, terms, self.balance)

    def store(self, account: BillingAccount) -> None:
        self.terms_kind = account.terms.kind.value
        self.terms_days = account.terms.days
        self.balance = account.balance
