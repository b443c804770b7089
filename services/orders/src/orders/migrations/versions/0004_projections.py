"""Orders' copy of the organizations; scheduled prices on the catalog's plans.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("organization_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("legal_name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.Text(), nullable=True),
        sa.Column("inn", sa.String(12), nullable=False),
        sa.Column("kpp", sa.String(9), nullable=True),
        sa.Column("legal_address", sa.Text(), nullable=False),
        sa.Column("edo_participant_id", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.add_column("catalog_plans", sa.Column("next_unit_price", sa.Numeric(19, 2), nullable=True))
    op.add_column("catalog_plans", sa.Column("next_price_effective_on", sa.Date(), nullable=True))
    op.add_column("catalog_plans", sa.Column("price_version", sa.Integer(), nullable=True))
    # The prices held so far came with their product's snapshot, so that is their version.
    op.execute(
        "UPDATE catalog_plans SET price_version = catalog_products.version"
        " FROM catalog_products WHERE catalog_products.product_id = catalog_plans.product_id"
    )
    op.alter_column("catalog_plans", "price_version", nullable=False)


def downgrade() -> None:
    op.drop_column("catalog_plans", "price_version")
    op.drop_column("catalog_plans", "next_price_effective_on")
    op.drop_column("catalog_plans", "next_unit_price")
    op.drop_table("organizations")
