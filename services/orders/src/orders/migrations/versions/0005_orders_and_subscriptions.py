"""Orders with their lines, subscriptions, and the invoices dunning watches.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("purchase_order_ref", sa.String(100), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_orders_customer_id_placed_at", "orders", ["customer_id", "placed_at"])
    op.create_table(
        "order_lines",
        sa.Column(
            "order_id",
            sa.Uuid(),
            sa.ForeignKey(
                "orders.order_id", ondelete="CASCADE", name="fk_order_lines_order_id_orders"
            ),
            primary_key=True,
        ),
        sa.Column("line_no", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("plan_name", sa.String(200), nullable=False),
        sa.Column("billing_period", sa.String(10), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(19, 2), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=True),
        sa.UniqueConstraint("subscription_id", name="uq_order_lines_subscription_id"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("billing_period", sa.String(10), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("period_anchor", sa.Date(), nullable=False),
        sa.Column("trial_ends_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("suspension_reason", sa.String(20), nullable=True),
        sa.Column("cancellation_effective_on", sa.Date(), nullable=True),
        sa.Column("cancellation_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("change_plan_id", sa.Uuid(), nullable=True),
        sa.Column("change_billing_period", sa.String(10), nullable=True),
        sa.Column("change_quantity", sa.Integer(), nullable=True),
        sa.Column("change_effective_on", sa.Date(), nullable=True),
        sa.Column("provisioning_outcome", sa.String(20), nullable=True),
        sa.Column("provisioning_message", sa.Text(), nullable=True),
        sa.Column("provisioning_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_subscriptions_next_due_at",
        "subscriptions",
        ["next_due_at"],
        postgresql_where=sa.text("next_due_at IS NOT NULL"),
    )
    op.create_index(
        "ix_subscriptions_customer_id_created_at", "subscriptions", ["customer_id", "created_at"]
    )
    op.create_index(
        "ix_subscriptions_partner_id_created_at", "subscriptions", ["partner_id", "created_at"]
    )
    op.create_table(
        "dunning_invoices",
        sa.Column("invoice_id", sa.Uuid(), primary_key=True),
        sa.Column("subscription_id", sa.Uuid(), primary_key=True),
        sa.Column("invoice_number", sa.String(50), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_due", sa.Numeric(19, 2), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_dunning_invoices_subscription_id", "dunning_invoices", ["subscription_id"]
    )
    op.create_index(
        "ix_dunning_invoices_due_on_pending",
        "dunning_invoices",
        ["due_on"],
        postgresql_where=sa.text(
            "overdue_at IS NOT NULL AND paid_at IS NULL AND acted_at IS NULL"
        ),
    )


def downgrade() -> None:
    op.drop_table("dunning_invoices")
    op.drop_table("subscriptions")
    op.drop_table("order_lines")
    op.drop_table("orders")
