"""Embedded infrastructure for machines with nothing but Python: a Kafka-compatible broker and
PostgreSQL, both from PyPI wheels. The local stack and the test harness use them when no URL of a
real broker or database is configured."""

from vitrina_kit.local.broker import EmbeddedBroker, free_port
from vitrina_kit.local.postgres import (
    EmbeddedPostgres,
    create_database,
    create_database_async,
    drop_database,
    drop_database_async,
)

__all__ = [
    "EmbeddedBroker",
    "EmbeddedPostgres",
    "create_database",
    "create_database_async",
    "drop_database",
    "drop_database_async",
    "free_port",
]
