"""Webhook endpoints that can be edited, deleted and have their signing secret rotated (the
previous one honoured for a grace period); EDO documents that wait for a participant id.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_endpoints",
        sa.Column("previous_signing_secret_encrypted", sa.Text(), nullable=True),
    )
    op.add_column(
        "webhook_endpoints",
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "webhook_endpoints",
        sa.Column("secret_rotated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "webhook_endpoints", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True)
    )
    # A deleted provisioning endpoint no longer holds the partner's one provisioning place.
    op.drop_index("uq_webhook_endpoints_provisioning_owner", table_name="webhook_endpoints")
    op.create_index(
        "uq_webhook_endpoints_provisioning_owner",
        "webhook_endpoints",
        ["owner_id"],
        unique=True,
        postgresql_where=sa.text("provisioning AND status <> 'deleted'"),
    )
    op.add_column(
        "edo_documents", sa.Column("closing_document", postgresql.JSONB(), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("edo_documents", "closing_document")
    op.drop_index("uq_webhook_endpoints_provisioning_owner", table_name="webhook_endpoints")
    op.create_index(
        "uq_webhook_endpoints_provisioning_owner",
        "webhook_endpoints",
        ["owner_id"],
        unique=True,
        postgresql_where=sa.text("provisioning"),
    )
    for column in (
        "deleted_at",
        "secret_rotated_at",
        "previous_secret_expires_at",
        "previous_signing_secret_encrypted",
    ):
        op.drop_column("webhook_endpoints", column)
