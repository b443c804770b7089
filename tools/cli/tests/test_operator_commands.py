"""The operator's commands (``vitrina billing``, ``dead-letters``, ``outbox``, ``lag``, ``time``)
against real services: identity, catalog, orders and billing as processes on a real PostgreSQL
and the embedded broker.

The module shares one stack (starting four services takes seconds). Integrations is left out on
purpose: its consumer group is the one that falls behind, and its URL is the unreachable one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

import billing.main
import catalog.main
import identity.main
import orders.main
from vitrina_cli.app import app
from vitrina_cli.lag import group_topics
from vitrina_cli.stack import Stack as LocalStack
from vitrina_cli.stack import StackConfig
from vitrina_cli.workspace import BOOTSTRAP_SERVERS_FILE
from vitrina_kit.local import EmbeddedBroker, create_database, drop_database, free_port
from vitrina_kit.migrations import upgrade
from vitrina_kit.testing import ServiceProcess, send_raw

T = TypeVar("T")
RUNNING = (identity.main.SERVICE, catalog.main.SERVICE, orders.main.SERVICE, billing.main.SERVICE)


@dataclass(frozen=True)
class Marketplace:
    bootstrap_servers: str
    env: dict[str, str]
    """What the commands read: every service's URL (integrations' answers nothing), the broker,
    and a wide terminal so tables are not folded."""


@pytest.fixture(scope="module")
def marketplace(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Marketplace]:
    logs = tmp_path_factory.mktemp("operator-stack")
    databases: list[str] = []
    processes: list[ServiceProcess] = []
    with EmbeddedBroker(log_file=logs / "broker.log") as broker:
        ports = {service.name: free_port() for service in RUNNING}
        identity_url = f"http://127.0.0.1:{ports['identity']}"
        auth = {
            "VITRINA_AUTH_ISSUER": identity_url,
            "VITRINA_AUTH_JWKS_URL": f"{identity_url}/.well-known/jwks.json",
        }
        try:
            for service in RUNNING:
                url = make_url(postgres_url).set(database=f"t_ops_{uuid.uuid4().hex[:10]}")
                database_url = url.render_as_string(hide_password=False)
                create_database(database_url)
                databases.append(database_url)
                upgrade(service.migrations, database_url)
                process = ServiceProcess(
                    service.name,
                    "run",
                    database_url=database_url,
                    bootstrap_servers=broker.bootstrap_servers,
                    port=ports[service.name],
                    env=auth,
                    log_path=logs / f"{service.name}.log",
                )
                processes.append(process)
                process.start(ready_timeout=60)
            env = {
                f"VITRINA_{name.upper()}_URL": f"http://127.0.0.1:{p}" for name, p in ports.items()
            }
            env["VITRINA_INTEGRATIONS_URL"] = f"http://127.0.0.1:{free_port()}"
            env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
            env["COLUMNS"] = "250"
            yield Marketplace(bootstrap_servers=broker.bootstrap_servers, env=env)
        finally:
            for process in processes:
                process.kill()
            for database_url in databases:
                drop_database(database_url)


def vitrina(marketplace: Marketplace, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=marketplace.env, input=input)


def succeeds(marketplace: Marketplace, *args: str, input: str | None = None) -> Result:
    result = vitrina(marketplace, *args, input=input)
    assert result.exit_code == 0, result.output
    return result


def eventually(probe: Callable[[], T | None], *, timeout: float = 45.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.5)


# -- billing --------------------------------------------------------------------------------


def test_billing_close_runs_the_period_close_and_shows_it(marketplace: Marketplace) -> None:
    last_month = dt.datetime.now(dt.UTC).date().replace(day=1) - dt.timedelta(days=1)
    first_day = last_month.replace(day=1)

    closed = succeeds(marketplace, "billing", "close", "--date", last_month.isoformat())

    assert f"Period close for {first_day} – {last_month}: completed" in closed.stdout
    run_id = closed.stdout.split("run ")[1].split()[0]
    uuid.UUID(run_id)
    listed = succeeds(marketplace, "billing", "runs")
    assert run_id in listed.stdout
    assert "period_close" in listed.stdout
    as_json = json.loads(succeeds(marketplace, "billing", "runs", "--json").stdout)
    assert run_id in [run["run_id"] for run in as_json]


def test_billing_says_why_it_refuses_a_run(marketplace: Marketplace) -> None:
    next_month = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=40)

    refused = vitrina(marketplace, "billing", "close", "--date", next_month.isoformat())

    assert refused.exit_code == 1
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("✗ billing refused POST /billing-runs:")


# -- outbox ---------------------------------------------------------------------------------


def test_outbox_shows_every_service_s_backlog(marketplace: Marketplace) -> None:
    running = ["--service", "identity", "-s", "catalog", "-s", "orders", "-s", "billing"]

    shown = succeeds(marketplace, "outbox", *running)

    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["service", "pending", "parked", "oldest", "pending"]
    assert [line.split()[0] for line in lines[1:]] == ["identity", "catalog", "orders", "billing"]
    backlog = json.loads(succeeds(marketplace, "outbox", *running, "--json").stdout)
    assert set(backlog) == {"identity", "catalog", "orders", "billing"}
    assert all(b["parked"] == 0 for b in backlog.values())


def test_a_service_that_cannot_be_reached_is_one_line_and_a_failure(
    marketplace: Marketplace,
) -> None:
    shown = vitrina(marketplace, "outbox")  # integrations is not running

    assert shown.exit_code == 1
    assert "billing" in shown.stdout  # the others are still shown
    assert shown.stderr.count("\n") == 1
    assert shown.stderr.startswith("✗ integrations at http://127.0.0.1:")
    assert "cannot be reached" in shown.stderr


def test_no_identity_means_no_token_in_one_line(marketplace: Marketplace) -> None:
    env = {**marketplace.env, "VITRINA_IDENTITY_URL": f"http://127.0.0.1:{free_port()}"}

    shown = CliRunner().invoke(app, ["billing", "runs"], env=env)
    refused = vitrina(marketplace, "outbox", "-s", "billing", "--operator-client-secret", "wrong")

    assert shown.exit_code == 1
    assert shown.stdout == ""
    assert shown.stderr.count("\n") == 1
    assert "identity at http://127.0.0.1:" in shown.stderr
    assert refused.exit_code == 1
    assert refused.stderr.startswith("✗ identity refused the operator client vitrina-operator")


# -- dead letters ---------------------------------------------------------------------------


def test_a_dead_letter_is_listed_and_replayed_once(marketplace: Marketplace) -> None:
    key = f"poison-{uuid.uuid4()}"
    asyncio.run(
        send_raw(
            marketplace.bootstrap_servers,
            "identity.organizations",
            [b"not a cloud event"],
            key=key.encode(),
        )
    )

    def landed() -> dict[str, Any] | None:
        listed = vitrina(
            marketplace, "dead-letters", "list", "-s", "billing", "--topic",
            "identity.organizations", "--json",
        )  # fmt: skip
        assert listed.exit_code == 0, listed.output
        return next((d for d in json.loads(listed.stdout) if d["key"] == key), None)

    letter = eventually(landed)
    assert letter["id"].startswith("identity.organizations/")
    assert letter["error_type"] == "InvalidEnvelope"
    shown = succeeds(marketplace, "dead-letters", "list", "--service", "billing")
    row = next(line for line in shown.stdout.splitlines() if letter["id"] in line)
    assert row.split()[:2] == ["billing", letter["id"]]
    assert "(unreadable)" in row
    assert "InvalidEnvelope" in row

    declined = vitrina(
        marketplace, "dead-letters", "replay", "-s", "billing", letter["id"], input="n\n"
    )
    replayed = succeeds(
        marketplace, "dead-letters", "replay", "-s", "billing", letter["id"], input="y\n"
    )
    again = succeeds(marketplace, "dead-letters", "replay", "-s", "billing", letter["id"], "--yes")

    assert declined.exit_code == 1  # aborted: nothing replayed
    assert f"replayed {letter['id']}" in replayed.stdout
    assert "1 replayed, 0 replayed before" in replayed.stdout
    assert f"{letter['id']} was replayed before" in again.stdout
    assert "0 replayed, 1 replayed before" in again.stdout
    after = json.loads(
        succeeds(marketplace, "dead-letters", "list", "-s", "billing", "--json").stdout
    )
    assert next(d for d in after if d["id"] == letter["id"])["replayed_at"] is not None


def test_replay_refuses_what_is_not_there(marketplace: Marketplace) -> None:
    missing = vitrina(
        marketplace, "dead-letters", "replay", "-s", "billing", "identity.organizations/0/999999",
        "--yes",
    )  # fmt: skip
    malformed = vitrina(marketplace, "dead-letters", "replay", "-s", "billing", "nonsense", "-y")

    assert missing.exit_code == 1
    assert "no dead letter of billing at identity.organizations/0/999999" in missing.stderr
    assert malformed.exit_code == 2
    assert "<topic>/<partition>/<offset>" in malformed.output


# -- lag ------------------------------------------------------------------------------------


def _lag(marketplace: Marketplace, service: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(
        succeeds(marketplace, "lag", "--service", service, "--json").stdout
    )
    return rows


def _topic_total(rows: list[dict[str, Any]], topic: str, field: str) -> int:
    return sum(row[field] or 0 for row in rows if row["topic"] == topic)


def test_lag_is_zero_once_a_service_has_caught_up(marketplace: Marketplace) -> None:
    def caught_up() -> list[dict[str, Any]] | None:
        rows = _lag(marketplace, "billing")
        return rows if all(row["lag"] == 0 for row in rows) else None

    rows = eventually(caught_up)

    assert {row["topic"] for row in rows} == set(group_topics("billing"))
    # identity registered the operator's organization, and billing has committed past it.
    assert _topic_total(rows, "identity.organizations", "highwater") >= 1
    assert _topic_total(rows, "identity.organizations", "committed") >= 1
    shown = succeeds(marketplace, "lag", "-s", "billing")
    assert "billing: 0 behind over" in shown.stdout
    assert "identity.organizations" in shown.stdout


def test_lag_counts_the_events_a_stopped_consumer_has_not_read(marketplace: Marketplace) -> None:
    before = _topic_total(_lag(marketplace, "integrations"), "billing.payments", "lag")

    asyncio.run(
        send_raw(
            marketplace.bootstrap_servers,
            "billing.payments",
            [b"{}"] * 5,
            key=str(uuid.uuid4()).encode(),
        )
    )

    rows = _lag(marketplace, "integrations")
    assert _topic_total(rows, "billing.payments", "lag") == before + 5
    shown = succeeds(marketplace, "lag", "-s", "integrations").stdout.splitlines()
    for row in rows:
        if row["topic"] == "billing.payments" and row["highwater"]:
            cells = ["integrations", row["topic"], str(row["partition"]), "—"]
            assert [*cells, str(row["highwater"]), str(row["lag"])] in [s.split() for s in shown]


def test_lag_finds_the_local_stack_s_broker_or_says_it_cannot(
    marketplace: Marketplace, tmp_path: Path
) -> None:
    env = {k: v for k, v in marketplace.env.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    (tmp_path / BOOTSTRAP_SERVERS_FILE).write_text(marketplace.bootstrap_servers + "\n")
    found = CliRunner().invoke(
        app, ["lag", "-s", "orders", "--data-dir", str(tmp_path), "--json"], env=env
    )
    (tmp_path / BOOTSTRAP_SERVERS_FILE).unlink()
    none = CliRunner().invoke(app, ["lag", "--data-dir", str(tmp_path)], env=env)
    dead = CliRunner().invoke(
        app, ["lag", "--bootstrap-servers", f"127.0.0.1:{free_port()}"], env=env
    )

    assert found.exit_code == 0, found.output
    assert {row["group"] for row in json.loads(found.stdout)} == {"orders"}
    assert none.exit_code == 1
    assert "no broker: `vitrina dev` is not running" in none.stderr
    assert dead.exit_code == 1
    assert dead.stderr.count("\n") == 1
    assert "the broker at 127.0.0.1:" in dead.stderr


def test_the_local_stack_says_where_its_broker_is(tmp_path: Path) -> None:
    stack = LocalStack(StackConfig(root=tmp_path, data_dir=tmp_path, kafka_bootstrap_servers="k:9"))

    stack._start_broker()
    written = (tmp_path / BOOTSTRAP_SERVERS_FILE).read_text()
    stack.stop()

    assert written.strip() == "k:9"
    assert not (tmp_path / BOOTSTRAP_SERVERS_FILE).exists()


# -- time -----------------------------------------------------------------------------------


def test_time_advance_moves_orders_calendar(marketplace: Marketplace) -> None:
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)

    advanced = succeeds(marketplace, "time", "advance", "--to", tomorrow.isoformat())
    wrong = vitrina(marketplace, "time", "advance", "--to", "next tuesday")

    assert "orders advanced to" in advanced.stdout
    assert "subscription(s) changed" in advanced.stdout
    assert wrong.exit_code == 1
    assert "is not an ISO date" in wrong.stderr
