"""Orders' copy of the catalog, and the kit's outbox, inbox and idempotency tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from vitrina_kit.migrations import create_kit_tables, drop_kit_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "catalog_products",
        sa.Column("product_id", sa.Uuid(), primary_key=True),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
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
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("billing_period", sa.String(10), nullable=False),
        sa.Column("pricing_unit", sa.String(20), nullable=False),
        sa.Column("unit_price", sa.Numeric(19, 2), nullable=False),
        sa.Column("vat_mode", sa.String(10), nullable=False),
        sa.Column("min_quantity", sa.Integer(), nullable=False),
        sa.Column("max_quantity", sa.Integer(), nullable=True),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_catalog_plans_product_id", "catalog_plans", ["product_id"])


def downgrade() -> None:
    op.drop_table("catalog_plans")
    op.drop_table("catalog_products")
    drop_kit_tables()
