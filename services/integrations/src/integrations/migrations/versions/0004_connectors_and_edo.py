"""Connectors (per organization, secrets encrypted) and EDO documents.

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


def _at(name: str, *, default_now: bool = False, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.func.now() if default_now else None,
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("organization_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("legal_name", sa.Text(), nullable=False),
        sa.Column("inn", sa.String(12), nullable=False),
        sa.Column("kpp", sa.String(9), nullable=True),
        sa.Column("edo_participant_id", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _at("updated_at", default_now=True),
    )
    op.create_table(
        "connectors",
        sa.Column("connector_id", sa.Uuid(), primary_key=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=False),
        sa.Column("auth_method", sa.String(40), nullable=False),
        sa.Column("token_url", sa.Text(), nullable=True),
        sa.Column("authorize_url", sa.Text(), nullable=True),
        sa.Column("login", sa.String(200), nullable=True),
        sa.Column("scope", sa.String(500), nullable=True),
        sa.Column("options", postgresql.JSONB(), nullable=False),
        sa.Column("secrets_encrypted", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _at("created_at", default_now=True),
        _at("updated_at", default_now=True),
        sa.UniqueConstraint("organization_id", "name", name="uq_connectors_organization_id"),
    )
    op.create_index("ix_connectors_organization_id", "connectors", ["organization_id"])
    op.create_table(
        "connector_tokens",
        sa.Column(
            "connector_id",
            sa.Uuid(),
            sa.ForeignKey(
                "connectors.connector_id",
                ondelete="CASCADE",
                name="fk_connector_tokens_connector_id_connectors",
            ),
            primary_key=True,
        ),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        _at("expires_at", nullable=True),
        _at("obtained_at"),
    )
    op.create_table(
        "edo_documents",
        sa.Column("edo_document_id", sa.Uuid(), primary_key=True),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("document_kind", sa.String(30), nullable=False),
        sa.Column("document_number", sa.String(100), nullable=False),
        sa.Column("buyer_organization_id", sa.Uuid(), nullable=False),
        sa.Column("seller_organization_id", sa.Uuid(), nullable=False),
        sa.Column("sender_edo_id", sa.Text(), nullable=True),
        sa.Column("recipient_edo_id", sa.Text(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column(
            "connector_id",
            sa.Uuid(),
            sa.ForeignKey(
                "connectors.connector_id",
                ondelete="SET NULL",
                name="fk_edo_documents_connector_id_connectors",
            ),
            nullable=True,
        ),
        sa.Column("operator_message_id", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("send_rounds", sa.Integer(), nullable=False),
        _at("next_attempt_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _at("created_at", default_now=True),
        _at("updated_at", default_now=True),
        _at("sent_at", nullable=True),
        _at("delivered_at", nullable=True),
        _at("answered_at", nullable=True),
    )
    op.create_unique_constraint("uq_edo_documents_document_id", "edo_documents", ["document_id"])
    op.create_index(
        "ix_edo_documents_buyer_organization_id", "edo_documents", ["buyer_organization_id"]
    )
    op.create_index("ix_edo_documents_status", "edo_documents", ["status"])
    op.create_index("ix_edo_documents_next_attempt_at", "edo_documents", ["next_attempt_at"])
    op.create_table(
        "edo_event_cursors",
        sa.Column(
            "connector_id",
            sa.Uuid(),
            sa.ForeignKey(
                "connectors.connector_id",
                ondelete="CASCADE",
                name="fk_edo_event_cursors_connector_id_connectors",
            ),
            primary_key=True,
        ),
        sa.Column("after_index_key", sa.Text(), nullable=True),
        _at("updated_at", default_now=True),
    )


def downgrade() -> None:
    op.drop_table("edo_event_cursors")
    op.drop_table("edo_documents")
    op.drop_table("connector_tokens")
    op.drop_table("connectors")
    op.drop_table("organizations")
