"""The trace each queued row was queued in (1C documents, EDO documents, webhook deliveries),
so the periodic job's work on it continues that trace.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("onec_documents", "edo_documents", "webhook_deliveries")


def upgrade() -> None:
    # Nullable, no default: rows queued before this revision (or outside any span) start a
    # trace of their own when handled; adding the column rewrites nothing.
    for table in TABLES:
        op.add_column(table, sa.Column("traceparent", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "traceparent")
