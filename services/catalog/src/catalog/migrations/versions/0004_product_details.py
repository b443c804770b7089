"""Products' details: full description, tags, media links, documentation and support.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "products", sa.Column("description", sa.Text(), server_default="", nullable=False)
    )
    op.add_column(
        "products",
        sa.Column(
            "tags", postgresql.ARRAY(sa.String(50)), server_default="{}", nullable=False
        ),
    )
    op.add_column(
        "products",
        sa.Column("media", postgresql.JSONB(), server_default="[]", nullable=False),
    )
    op.add_column("products", sa.Column("documentation_url", sa.String(2000), nullable=True))
    op.add_column("products", sa.Column("support", postgresql.JSONB(), nullable=True))
    op.add_column("plans", sa.Column("next_unit_price", sa.Numeric(19, 2), nullable=True))
    op.add_column("plans", sa.Column("next_price_effective_on", sa.Date(), nullable=True))


def downgrade() -> None:
    for column in ("next_price_effective_on", "next_unit_price"):
        op.drop_column("plans", column)
    for column in ("support", "documentation_url", "media", "tags", "description"):
        op.drop_column("products", column)
