"""The record of replayed dead letters.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from vitrina_kit.migrations import create_dead_letter_replays, drop_dead_letter_replays

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_dead_letter_replays()


def downgrade() -> None:
    drop_dead_letter_replays()
