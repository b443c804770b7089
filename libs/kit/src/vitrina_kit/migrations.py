"""Alembic, the same way in every service.

A service's ``migrations/env.py`` is one call to :func:`run_env`; its first revision creates the
kit's tables with :func:`create_kit_tables`. :func:`upgrade` runs a service's migrations from
Python (the runner, the local stack and the tests all use it).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

# The kit's tables register on KitBase.metadata when their modules load; load them all here so
# migrations and schema checks see every one, whatever the service itself imports.
from vitrina_kit import audit, consumer, dead_letters, idempotency, outbox  # noqa: F401
from vitrina_kit.db import KitBase

KIT_METADATA: MetaData = KitBase.metadata


def alembic_config(script_location: Path, database_url: str) -> Config:
    """An Alembic config for a service's migrations folder and database, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(script_location: Path, database_url: str, revision: str = "head") -> None:
    """Migrate a service's database to ``revision``; safe to call from inside an event loop."""
    config = alembic_config(script_location, database_url)
    _in_own_thread(lambda: command.upgrade(config, revision))


def _in_own_thread(migrate: Callable[[], None]) -> None:
    """Run ``migrate`` here, or in a thread when an event loop already runs here.

    Alembic's env.py drives its own event loop, which cannot start inside a running one.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        migrate()
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            migrate()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, name="alembic-upgrade")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def downgrade(script_location: Path, database_url: str, revision: str = "base") -> None:
    """Migrate a service's database down to ``revision`` (``base``: nothing left)."""
    config = alembic_config(script_location, database_url)
    _in_own_thread(lambda: command.downgrade(config, revision))


def run_env(target_metadata: MetaData, *, default_url: Callable[[], str]) -> None:
    """The body of every service's ``env.py``: online migrations over asyncpg.

    The URL is the one :func:`upgrade` passes, else ``default_url()`` (the service's settings),
    so the ``alembic`` command line reads the same setting the service does.
    """
    metadata: Sequence[MetaData] = [target_metadata, KIT_METADATA]
    url = context.config.get_main_option("sqlalchemy.url") or default_url()

    def run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=list(metadata), compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=sa.pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=list(metadata), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(main())


def create_kit_tables() -> None:
    """Create the outbox, inbox and idempotency tables (version 1 of the kit's schema)."""
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("message_key", sa.String(200), nullable=False),
        sa.Column("lane", sa.SmallInteger(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("event_id", name="uq_outbox_messages_event_id"),
    )
    op.create_index(
        "ix_outbox_messages_pending",
        "outbox_messages",
        ["lane", "id"],
        postgresql_where=sa.text("published_at IS NULL AND parked_at IS NULL"),
    )
    op.create_table(
        "inbox_messages",
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("source_partition", sa.Integer(), nullable=False),
        sa.Column("source_offset", sa.BigInteger(), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("request_fingerprint", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )


def drop_kit_tables() -> None:
    """Undo :func:`create_kit_tables`."""
    op.drop_table("idempotency_keys")
    op.drop_table("inbox_messages")
    op.drop_index("ix_outbox_messages_pending", table_name="outbox_messages")
    op.drop_table("outbox_messages")


def create_audit_log() -> None:
    """The audit log table (version 2 of the kit's schema)."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("client_id", sa.String(200), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("organization_kind", sa.String(20), nullable=False),
        sa.Column("action", sa.String(300), nullable=False),
        sa.Column("target", postgresql.JSONB(), nullable=False),
        sa.Column("source_address", sa.String(64), nullable=True),
        sa.Column("correlation_id", sa.String(128), nullable=True),
    )
    op.create_index("ix_audit_log_occurred_at", "audit_log", ["occurred_at"])
    op.create_index("ix_audit_log_organization_id", "audit_log", ["organization_id"])


def drop_audit_log() -> None:
    """Undo :func:`create_audit_log`."""
    op.drop_table("audit_log")


def create_dead_letter_replays() -> None:
    """The record of replayed dead letters (version 3 of the kit's schema; see
    :mod:`vitrina_kit.dead_letters`)."""
    op.create_table(
        "dead_letter_replays",
        sa.Column("dlq_topic", sa.String(249), primary_key=True),
        sa.Column("dlq_partition", sa.Integer(), primary_key=True),
        sa.Column("dlq_offset", sa.BigInteger(), primary_key=True),
        sa.Column("event_id", sa.String(36), nullable=True),
        sa.Column("replayed_by", sa.String(200), nullable=False),
        sa.Column(
            "replayed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )


def drop_dead_letter_replays() -> None:
    """Undo :func:`create_dead_letter_replays`."""
    op.drop_table("dead_letter_replays")
