"""Vitrina's test harness: real brokers, real databases, services as real processes."""

from vitrina_kit.testing.apps import app_client, migrated_database, schema_differences
from vitrina_kit.testing.kafka import read_topic, read_topics, send_raw
from vitrina_kit.testing.processes import ServiceProcess
from vitrina_kit.testing.tokens import TestIssuer
from vitrina_kit.testing.waiting import wait_until

__all__ = [
    "ServiceProcess",
    "TestIssuer",
    "app_client",
    "migrated_database",
    "read_topic",
    "read_topics",
    "schema_differences",
    "send_raw",
    "wait_until",
]
