"""The embedded infrastructure: the broker answers Kafka, and a taken port is not mistaken
for a started broker (Tansu prints "listening", panics and exits 0 when its port is taken)."""

from __future__ import annotations

import socket

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from vitrina_kit.local import EmbeddedBroker, free_port


async def test_the_broker_answers_kafka_and_stops() -> None:
    broker = EmbeddedBroker().start()
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            assert isinstance(await admin.list_topics(), list)
        finally:
            await admin.close()
    finally:
        broker.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", broker.port or 0), timeout=0.5).close()


def test_a_taken_port_is_an_error_not_a_broker() -> None:
    port = free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(RuntimeError, match=str(port)):
            EmbeddedBroker(port=port).start()
