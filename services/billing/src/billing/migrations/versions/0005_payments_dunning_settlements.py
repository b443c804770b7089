"""Payments and their allocations, dunning notices, commission rates, partner settlements.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _money(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(19, 2), nullable=False)


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.Uuid(), primary_key=True),
        sa.Column("bank_payment_id", sa.Uuid(), nullable=False),
        sa.Column("statement_line", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        _money("amount"),
        _money("allocated"),
        _money("advanced"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        _created_at(),
        sa.UniqueConstraint("bank_payment_id", name="uq_payments_bank_payment_id"),
        sa.UniqueConstraint("statement_line", name="uq_payments_statement_line"),
        sa.CheckConstraint(
            "allocated >= 0 AND advanced >= 0 AND allocated + advanced <= amount",
            name="ck_payments_allocated_within_amount",
        ),
    )
    op.create_index(
        "ix_payments_customer_page", "payments", ["customer_id", "created_at", "payment_id"]
    )
    op.create_index(
        "ix_payments_unmatched",
        "payments",
        ["created_at", "payment_id"],
        postgresql_where=sa.text("status = 'unmatched'"),
    )
    op.create_table(
        "payment_allocations",
        sa.Column("allocation_id", sa.Uuid(), primary_key=True),
        sa.Column(
            "payment_id",
            sa.Uuid(),
            sa.ForeignKey("payments.payment_id", name="fk_payment_allocations_payment_id_payments"),
            nullable=True,
        ),
        sa.Column(
            "invoice_id",
            sa.Uuid(),
            sa.ForeignKey("invoices.invoice_id", name="fk_payment_allocations_invoice_id_invoices"),
            nullable=False,
        ),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        _money("amount"),
        sa.Column("allocated_by", sa.String(200), nullable=True),
        _created_at(),
        sa.CheckConstraint("amount > 0", name="ck_payment_allocations_amount_positive"),
    )
    op.create_index("ix_payment_allocations_payment_id", "payment_allocations", ["payment_id"])
    op.create_index("ix_payment_allocations_invoice_id", "payment_allocations", ["invoice_id"])
    op.create_index(
        "ix_invoices_open_due_on",
        "invoices",
        ["due_on", "invoice_id"],
        postgresql_where=sa.text("status IN ('issued', 'overdue')"),
    )
    op.create_table(
        "dunning_notices",
        sa.Column(
            "invoice_id",
            sa.Uuid(),
            sa.ForeignKey("invoices.invoice_id", name="fk_dunning_notices_invoice_id_invoices"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("offset_days", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("noticed_on", sa.Date(), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        _created_at(),
    )
    op.create_index(
        "ix_dunning_notices_customer", "dunning_notices", ["customer_id", "noticed_on"]
    )
    op.create_table(
        "partner_commission_rates",
        sa.Column("partner_id", sa.Uuid(), primary_key=True),
        sa.Column("percent", sa.Numeric(5, 2), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "product_commission_rates",
        sa.Column("product_id", sa.Uuid(), primary_key=True),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("percent", sa.Numeric(5, 2), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index(
        "ix_product_commission_rates_partner_id", "product_commission_rates", ["partner_id"]
    )
    op.create_table(
        "settlements",
        sa.Column("settlement_id", sa.Uuid(), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("period_starts_on", sa.Date(), nullable=False),
        sa.Column("period_ends_on", sa.Date(), nullable=False),
        _money("gross_sales"),
        _money("commission"),
        _money("payout"),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        _created_at(),
        sa.UniqueConstraint("number", name="uq_settlements_number"),
        sa.UniqueConstraint(
            "partner_id", "period_starts_on", name="uq_settlements_partner_id"
        ),
    )
    op.create_index(
        "ix_settlements_partner_page", "settlements", ["partner_id", "created_at", "settlement_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_invoices_open_due_on", table_name="invoices")
    for table in (
        "settlements",
        "product_commission_rates",
        "partner_commission_rates",
        "dunning_notices",
        "payment_allocations",
        "payments",
    ):
        op.drop_table(table)
