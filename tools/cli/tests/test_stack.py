"""The stack's decisions that need no running infrastructure: database URLs, the services'
environment, and refusing to start on taken ports or a data folder in use."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from vitrina_cli.stack import ServiceEndpoint, Stack, StackConfig, StackError, database_url
from vitrina_kit.local import free_port


def test_each_service_gets_its_own_database_on_the_given_server() -> None:
    url = database_url("postgresql://app:s3cret@db.internal:5433/postgres", "orders")

    assert url == "postgresql+asyncpg://app:s3cret@db.internal:5433/vitrina_orders"


def test_a_unix_socket_server_url_keeps_its_socket() -> None:
    url = database_url("postgresql+asyncpg://postgres@/postgres?host=/tmp/pg&port=5999", "billing")

    assert url == "postgresql+asyncpg://postgres@/vitrina_billing?host=%2Ftmp%2Fpg&port=5999"


def _stack(tmp_path: Path, *, broker: str | None = None) -> Stack:
    config = StackConfig(root=tmp_path, data_dir=tmp_path / "data", kafka_bootstrap_servers=broker)
    stack = Stack(config)
    stack._bootstrap_servers = broker or "127.0.0.1:19092"
    return stack


def test_a_service_is_told_where_everything_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERS_LOG_FORMAT", "json")
    monkeypatch.setenv("ORDERS_DATABASE_URL", "postgresql+asyncpg://elsewhere/x")
    endpoint = ServiceEndpoint(
        "orders", "127.0.0.1", 18003, "postgresql+asyncpg://h/vitrina_orders"
    )

    env = _stack(tmp_path).service_env(endpoint)

    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert env["ORDERS_DATABASE_URL"] == "postgresql+asyncpg://h/vitrina_orders"
    assert env["ORDERS_HTTP_PORT"] == "18003"
    assert env["ORDERS_HTTP_HOST"] == "127.0.0.1"
    assert env["ORDERS_KAFKA_FETCH_MAX_WAIT_MS"] == "100"
    assert env["ORDERS_KAFKA_SESSION_TIMEOUT_MS"] == "3000"
    assert env["ORDERS_LOG_FORMAT"] == "json"  # the user's own choice stays
    assert "CATALOG_HTTP_PORT" not in env


def test_a_real_broker_keeps_kafkas_group_timeouts(tmp_path: Path) -> None:
    endpoint = ServiceEndpoint("billing", "127.0.0.1", 18004, "postgresql+asyncpg://h/b")

    env = _stack(tmp_path, broker="kafka:9092").service_env(endpoint)

    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert "BILLING_KAFKA_SESSION_TIMEOUT_MS" not in env


def test_a_taken_port_stops_the_start_before_anything_runs(tmp_path: Path) -> None:
    base = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base))
        taken.listen()
        stack = Stack(StackConfig(root=tmp_path, data_dir=tmp_path / "data", base_port=base))
        with pytest.raises(StackError, match=f"port {base} \\(for identity\\) is in use"):
            stack.start()
    stack.stop()
    assert stack.services == []


def test_one_data_folder_serves_one_stack(tmp_path: Path) -> None:
    config = StackConfig(root=tmp_path, data_dir=tmp_path / "data")
    config.data_dir.mkdir()
    first, second = Stack(config), Stack(config)
    first._take_lock()
    try:
        with pytest.raises(StackError, match="another `vitrina dev`"):
            second._take_lock()
    finally:
        first.stop()
    second._take_lock()
    second.stop()


def test_the_simulators_listen_on_the_three_ports_after_the_services(tmp_path: Path) -> None:
    config = StackConfig(root=tmp_path, data_dir=tmp_path / "data", base_port=18001)

    ports = {simulator.name: simulator.port for simulator in Stack(config).simulator_choices}

    assert ports == {"edo-operator": 18006, "onec": 18007, "partner": 18008}
    without = StackConfig(root=tmp_path, data_dir=tmp_path / "data", simulators=False)
    assert Stack(without).simulator_choices == []


def test_a_taken_simulator_port_stops_the_start_too(tmp_path: Path) -> None:
    base = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + 7))
        taken.listen()
        stack = Stack(StackConfig(root=tmp_path, data_dir=tmp_path / "data", base_port=base))
        with pytest.raises(StackError, match=f"port {base + 7} \\(for the partner simulator\\)"):
            stack.start()
    stack.stop()
    assert stack.services == []


def test_integrations_may_call_the_partner_simulator_on_loopback(tmp_path: Path) -> None:
    endpoint = ServiceEndpoint("integrations", "127.0.0.1", 18005, "postgresql+asyncpg://h/i")

    env = _stack(tmp_path).service_env(endpoint)

    assert env["INTEGRATIONS_WEBHOOK_ALLOW_HTTP"] == "true"
    assert env["INTEGRATIONS_WEBHOOK_ALLOWED_NETWORKS"] == '["127.0.0.0/8"]'
