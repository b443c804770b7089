"""Orders as stored: what a business bought, at which price, and the subscriptions it got."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.database import Base


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_customer_id_placed_at", "customer_id", "placed_at"),)

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    purchase_order_ref: Mapped[str | None] = mapped_column(String(100))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list[OrderLineRow]] = relationship(
        order_by="OrderLineRow.line_no",
        lazy="selectin",
        cascade="all, delete-orphan",
    )


class OrderLineRow(Base):
    """A line with the terms it was bought on: the catalog may change, the order does not."""

    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.order_id", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column()
    plan_id: Mapped[uuid.UUID] = mapped_column()
    product_name: Mapped[str] = mapped_column(String(200))
    plan_name: Mapped[str] = mapped_column(String(200))
    billing_period: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    """One unit for one period, without VAT, on the day of the order."""
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
