"""Organizations, their API clients, token signing keys, token rate-limit windows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("legal_name", sa.String(500), nullable=False),
        sa.Column("short_name", sa.String(200), nullable=True),
        sa.Column("inn", sa.String(12), nullable=False),
        sa.Column("kpp", sa.String(9), nullable=True),
        sa.Column("ogrn", sa.String(15), nullable=True),
        sa.Column("legal_address", sa.String(500), nullable=False),
        sa.Column("bank_name", sa.String(200), nullable=True),
        sa.Column("bank_bik", sa.String(9), nullable=True),
        sa.Column("bank_settlement_account", sa.String(20), nullable=True),
        sa.Column("bank_correspondent_account", sa.String(20), nullable=True),
        sa.Column("edo_participant_id", sa.String(100), nullable=True),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.Column("contact_phone", sa.String(16), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
    )
    op.create_index(
        "uq_organizations_inn_kpp",
        "organizations",
        ["inn", "kpp"],
        unique=True,
        postgresql_where=sa.text("kpp IS NOT NULL AND status <> 'rejected'"),
    )
    op.create_index(
        "uq_organizations_inn",
        "organizations",
        ["inn"],
        unique=True,
        postgresql_where=sa.text("kpp IS NULL AND status <> 'rejected'"),
    )
    op.create_index("ix_organizations_created_at_id", "organizations", ["created_at", "id"])

    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.String(100), primary_key=True),
        sa.Column(
            "organization_id",
            sa.Uuid(),
            sa.ForeignKey(
                "organizations.id",
                ondelete="CASCADE",
                name="fk_api_clients_organization_id_organizations",
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(50)), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("previous_secret_hash", sa.String(64), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("secret_rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
    )
    op.create_index("ix_api_clients_organization_id", "api_clients", ["organization_id"])

    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(100), primary_key=True),
        sa.Column("algorithm", sa.String(10), nullable=False),
        sa.Column("private_jwk_encrypted", sa.Text(), nullable=False),
        sa.Column("public_jwk", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activates_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_signing_keys_expires_at", "signing_keys", ["expires_at"])

    op.create_table(
        "token_rate_limits",
        sa.Column("bucket", sa.String(300), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("hits", sa.Integer(), nullable=False),
    )
    op.create_index("ix_token_rate_limits_window_start", "token_rate_limits", ["window_start"])


def downgrade() -> None:
    op.drop_table("token_rate_limits")
    op.drop_table("signing_keys")
    op.drop_table("api_clients")
    op.drop_table("organizations")
