"""Subscriptions as stored, and what dunning remembers of the invoices that bill them.

The domain's :class:`~orders.subscriptions.domain.Subscription` is the one source of rules; a row
is its flat copy (``repository.to_domain`` / ``repository.values_of`` map the two, in one place).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from orders.database import Base


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        # The scheduler's one query: what came due, soonest first; most rows have nothing due.
        Index(
            "ix_subscriptions_next_due_at",
            "next_due_at",
            postgresql_where=text("next_due_at IS NOT NULL"),
        ),
        # Listings, newest page by page: the customer's own, the partner's product's.
        Index("ix_subscriptions_customer_id_created_at", "customer_id", "created_at"),
        Index("ix_subscriptions_partner_id_created_at", "partner_id", "created_at"),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column()
    partner_id: Mapped[uuid.UUID] = mapped_column()
    product_id: Mapped[uuid.UUID] = mapped_column()
    plan_id: Mapped[uuid.UUID] = mapped_column()
    order_id: Mapped[uuid.UUID | None] = mapped_column()
    billing_period: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int] = mapped_column(Integer)
    started_on: Mapped[date] = mapped_column(Date)
    period_anchor: Mapped[date] = mapped_column(Date)
    trial_ends_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    status_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    suspension_reason: Mapped[str | None] = mapped_column(String(20))
    # A cancellation at period end, waiting (all three set, or none).
    cancellation_effective_on: Mapped[date | None] = mapped_column(Date)
    cancellation_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    # A seat or plan decrease waiting for the period end (all four set, or none).
    change_plan_id: Mapped[uuid.UUID | None] = mapped_column()
    change_billing_period: Mapped[str | None] = mapped_column(String(10))
    change_quantity: Mapped[int | None] = mapped_column(Integer)
    change_effective_on: Mapped[date | None] = mapped_column(Date)
    # The partner's latest answer about provisioning (all three set, or none).
    provisioning_outcome: Mapped[str | None] = mapped_column(String(20))
    provisioning_message: Mapped[str | None] = mapped_column(Text)
    provisioning_recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Derived (``Subscription.next_due_at``): when the scheduler has something to apply."""
    version: Mapped[int] = mapped_column(Integer)
    """Compare-and-set: every stored change is ``UPDATE ... WHERE version = <the one read>``."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DunningInvoice(Base):
    """An invoice billing a subscription, as far as dunning cares: overdue since, paid at.

    Kept per (invoice, subscription) because one invoice bills several subscriptions and each is
    suspended or resumed on its own. A paid invoice stays recorded so that an overdue notice
    arriving after the payment (from a retry topic) is recognised as stale.
    """

    __tablename__ = "dunning_invoices"
    __table_args__ = (
        # The scheduler's grace-period query: overdue, unpaid, not acted on yet.
        Index(
            "ix_dunning_invoices_due_on_pending",
            "due_on",
            postgresql_where=text(
                "overdue_at IS NOT NULL AND paid_at IS NULL AND acted_at IS NULL"
            ),
        ),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    invoice_number: Mapped[str] = mapped_column(String(50))
    due_on: Mapped[date] = mapped_column(Date)
    amount_due: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the grace period ran out and dunning acted on the subscription (suspended it, or
    found nothing to suspend): set once, so the scheduler never acts twice."""
