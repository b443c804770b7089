"""The public storefront: Russian full-text search over published products, and when each was
first published (the storefront's "newest" order).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# array_to_string is only STABLE (it could format any element type), so a generated column may
# not call it; for an array of text it cannot change its answer, hence this IMMUTABLE wrapper.
TAGS_TEXT = """
CREATE FUNCTION tags_text(tags varchar[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN array_to_string(tags, ' ')
"""

# Mirrors catalog.products.models.SEARCH_DOCUMENT (kept literal: a migration is history).
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('russian'::regconfig, name), 'A') || "
    "setweight(to_tsvector('russian'::regconfig, tags_text(tags)), 'B') || "
    "setweight(to_tsvector('russian'::regconfig, short_description), 'B') || "
    "setweight(to_tsvector('russian'::regconfig, description), 'C')"
)


def upgrade() -> None:
    op.execute(TAGS_TEXT)
    op.add_column(
        "products",
        sa.Column(
            "search_document",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_DOCUMENT, persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_products_search_document",
        "products",
        ["search_document"],
        postgresql_using="gin",
    )
    op.add_column("products", sa.Column("published_at", sa.DateTime(timezone=True)))
    # Products published before this migration: their first approval is when they appeared.
    op.execute(
        """
        UPDATE products SET published_at = first.decided_at
        FROM (
            SELECT product_id, min(decided_at) AS decided_at FROM product_revisions
            WHERE status = 'approved' GROUP BY product_id
        ) AS first
        WHERE first.product_id = products.id
        """
    )
    op.create_index(
        "ix_products_storefront_newest",
        "products",
        [sa.text("published_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("status = 'published'"),
    )
    op.create_index(
        "ix_products_storefront_name",
        "products",
        ["name", "id"],
        postgresql_where=sa.text("status = 'published'"),
    )


def downgrade() -> None:
    op.drop_index("ix_products_storefront_name", table_name="products")
    op.drop_index("ix_products_storefront_newest", table_name="products")
    op.drop_column("products", "published_at")
    op.drop_index("ix_products_search_document", table_name="products")
    op.drop_column("products", "search_document")
    op.execute("DROP FUNCTION tags_text(varchar[])")
