"""1C: billing documents synced to the operator's 1C base, and the payments read from it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, *, nullable: bool = False, default_now: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if default_now else None,
    )


def upgrade() -> None:
    op.create_table(
        "onec_documents",
        sa.Column("document_id", sa.Uuid(), primary_key=True),
        sa.Column("document_kind", sa.String(30), nullable=False),
        sa.Column("document_number", sa.String(100), nullable=False),
        sa.Column("seller_organization_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_organization_id", sa.Uuid(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("synced_revision", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("ref_key", sa.Uuid(), nullable=True),
        sa.Column("counterparty_ref_key", sa.Uuid(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("synced_at", nullable=True),
        _at("created_at", default_now=True),
        _at("updated_at", default_now=True),
        sa.PrimaryKeyConstraint("document_id", name="pk_onec_documents"),
    )
    op.create_index(
        "ix_onec_documents_buyer_organization_id", "onec_documents", ["buyer_organization_id"]
    )
    op.create_index("ix_onec_documents_status", "onec_documents", ["status"])
    op.create_index("ix_onec_documents_next_attempt_at", "onec_documents", ["next_attempt_at"])
    op.create_table(
        "onec_payment_cursors",
        sa.Column(
            "connector_id",
            sa.Uuid(),
            sa.ForeignKey(
                "connectors.connector_id",
                ondelete="CASCADE",
                name="fk_onec_payment_cursors_connector_id_connectors",
            ),
            nullable=False,
        ),
        sa.Column("read_until", sa.DateTime(timezone=False), nullable=True),
        _at("updated_at", default_now=True),
        sa.PrimaryKeyConstraint("connector_id", name="pk_onec_payment_cursors"),
    )


def downgrade() -> None:
    op.drop_table("onec_payment_cursors")
    op.drop_table("onec_documents")
