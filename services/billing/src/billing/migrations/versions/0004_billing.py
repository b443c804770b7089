"""Projections (organizations, plans, subscriptions), accounts, documents, numbering, runs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _updated_at() -> sa.Column[object]:
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _money(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(19, 2), nullable=False)


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("organization_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("legal_name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.Text(), nullable=True),
        sa.Column("inn", sa.String(12), nullable=False),
        sa.Column("kpp", sa.String(9), nullable=True),
        sa.Column("legal_address", sa.Text(), nullable=False),
        sa.Column("edo_participant_id", sa.Text(), nullable=True),
        sa.Column("bank_name", sa.Text(), nullable=True),
        sa.Column("bik", sa.String(9), nullable=True),
        sa.Column("settlement_account", sa.String(20), nullable=True),
        sa.Column("correspondent_account", sa.String(20), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _updated_at(),
    )
    op.create_index("ix_organizations_inn", "organizations", ["inn"])
    op.create_table(
        "catalog_products",
        sa.Column("product_id", sa.Uuid(), primary_key=True),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _updated_at(),
    )
    op.create_index("ix_catalog_products_partner_id", "catalog_products", ["partner_id"])
    op.create_table(
        "catalog_plans",
        sa.Column("plan_id", sa.Uuid(), primary_key=True),
        sa.Column(
            "product_id",
            sa.Uuid(),
            sa.ForeignKey(
                "catalog_products.product_id",
                ondelete="CASCADE",
                name="fk_catalog_plans_product_id_catalog_products",
            ),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("billing_period", sa.String(10), nullable=False),
        sa.Column("pricing_unit", sa.String(20), nullable=False),
        sa.Column("vat_mode", sa.String(10), nullable=False),
        _money("unit_price"),
        sa.Column("next_unit_price", sa.Numeric(19, 2), nullable=True),
        sa.Column("next_price_effective_on", sa.Date(), nullable=True),
        sa.Column("price_version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_catalog_plans_product_id", "catalog_plans", ["product_id"])
    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("period_anchor", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("entries", postgresql.JSONB(), nullable=False),
        sa.Column("service_starts_on", sa.Date(), nullable=True),
        sa.Column("service_ends_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _updated_at(),
    )
    op.create_index("ix_subscriptions_customer_id", "subscriptions", ["customer_id"])
    op.create_table(
        "billing_accounts",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("terms_kind", sa.String(10), nullable=False),
        sa.Column("terms_days", sa.Integer(), nullable=False),
        _money("balance"),
        _created_at(),
        _updated_at(),
        sa.CheckConstraint("balance >= 0", name="ck_billing_accounts_balance_not_negative"),
    )
    op.create_table(
        "document_counters",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
    )
    op.create_table(
        "invoices",
        sa.UniqueConstraint("number", name="uq_invoices_number"),
        sa.Column("invoice_id", sa.Uuid(), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        _money("amount_net"),
        _money("vat_amount"),
        _money("amount_total"),
        _money("amount_paid"),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        _created_at(),
    )
    op.create_index(
        "ix_invoices_customer_page", "invoices", ["customer_id", "created_at", "invoice_id"]
    )
    op.create_table(
        "billed_periods",
        sa.Column("subscription_id", sa.Uuid(), primary_key=True),
        sa.Column("period_starts_on", sa.Date(), primary_key=True),
        sa.Column("period_ends_on", sa.Date(), nullable=False),
        sa.Column(
            "invoice_id",
            sa.Uuid(),
            sa.ForeignKey("invoices.invoice_id", name="fk_billed_periods_invoice_id_invoices"),
            nullable=False,
        ),
        sa.Column("segments", postgresql.JSONB(), nullable=False),
    )
    op.create_index("ix_billed_periods_invoice_id", "billed_periods", ["invoice_id"])
    op.create_table(
        "closing_documents",
        sa.UniqueConstraint("number", name="uq_closing_documents_number"),
        sa.Column("document_id", sa.Uuid(), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("period_starts_on", sa.Date(), nullable=False),
        sa.Column("period_ends_on", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        _money("amount_net"),
        _money("vat_amount"),
        _money("amount_total"),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        _created_at(),
        sa.UniqueConstraint(
            "customer_id", "period_starts_on", name="uq_closing_documents_customer_id"
        ),
    )
    op.create_index(
        "ix_closing_documents_customer_page",
        "closing_documents",
        ["customer_id", "created_at", "document_id"],
    )
    op.create_table(
        "credit_notes",
        sa.UniqueConstraint("number", name="uq_credit_notes_number"),
        sa.Column("document_id", sa.Uuid(), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column(
            "corrected_invoice_id",
            sa.Uuid(),
            sa.ForeignKey(
                "invoices.invoice_id", name="fk_credit_notes_corrected_invoice_id_invoices"
            ),
            nullable=False,
        ),
        sa.Column("issued_on", sa.Date(), nullable=False),
        _money("amount_net"),
        _money("vat_amount"),
        _money("amount_total"),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        _created_at(),
    )
    op.create_index(
        "ix_credit_notes_corrected_invoice_id", "credit_notes", ["corrected_invoice_id"]
    )
    op.create_index(
        "ix_credit_notes_customer_page", "credit_notes", ["customer_id", "created_at", "document_id"]
    )
    op.create_table(
        "billing_runs",
        sa.Column("run_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("run_on", sa.Date(), nullable=False),
        sa.Column("period_starts_on", sa.Date(), nullable=False),
        sa.Column("period_ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=True),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("documents_issued", sa.Integer(), nullable=False),
        sa.Column("customers_skipped", sa.Integer(), nullable=False),
        sa.Column("skipped", postgresql.JSONB(), nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for table in (
        "billing_runs",
        "credit_notes",
        "closing_documents",
        "billed_periods",
        "invoices",
        "document_counters",
        "billing_accounts",
        "subscriptions",
        "catalog_plans",
        "catalog_products",
        "organizations",
    ):
        op.drop_table(table)
