"""Moderation: every product's review rounds as revisions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product_revisions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "product_id",
            sa.Uuid(),
            sa.ForeignKey(
                "products.id", ondelete="CASCADE", name="fk_product_revisions_product_id_products"
            ),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("content", postgresql.JSONB(), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.UniqueConstraint("product_id", "number", name="uq_product_revisions_product_id"),
    )
    # Products made before moderation existed: a draft is revision 1 in draft; a published or
    # retired product was approved as revision 1 (it was published directly).
    op.execute(
        """
        INSERT INTO product_revisions (id, product_id, number, status, content, decided_at)
        SELECT gen_random_uuid(), id, 1,
               CASE status WHEN 'draft' THEN 'draft' ELSE 'approved' END,
               jsonb_build_object(
                   'name', name, 'short_description', short_description, 'category', category
               ),
               CASE status WHEN 'draft' THEN NULL ELSE updated_at END
        FROM products
        """
    )


def downgrade() -> None:
    op.drop_table("product_revisions")
