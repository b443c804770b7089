"""``vitrina dev --demo-clock`` and ``vitrina time set / forward / show``: the stack's side without
infrastructure, and the commands against a real process that follows the clock (a plain HTTP
server: its ``Date`` header is what the commands wait for). Orders' part (applying what came due)
is ``vitrina time advance``'s, tested against the real service in test_operator_commands."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from vitrina_cli import ops
from vitrina_cli.app import app
from vitrina_cli.demo_clock import (
    StackClock,
    describe_offset,
    parse_duration,
    parse_instant,
    running_clock,
)
from vitrina_cli.stack import ServiceEndpoint, Stack, StackConfig, StackError
from vitrina_cli.workspace import DEMO_CLOCK_FILE, DEMO_CLOCK_STACK_FILE
from vitrina_kit.local import free_port
from vitrina_kit.local.clock import CLOCK_FILE_ENV, SITE_DIR, DemoClock, process_env

NOVEMBER_END = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def close_to(told: dt.datetime, expected: dt.datetime, seconds: float = 5.0) -> bool:
    return abs((told - expected).total_seconds()) < seconds


# -- what people type -----------------------------------------------------------------------


def test_durations_read_as_people_write_them() -> None:
    assert parse_duration("3d") == dt.timedelta(days=3)
    assert parse_duration("1d12h") == dt.timedelta(days=1, hours=12)
    assert parse_duration("2w") == dt.timedelta(weeks=2)
    assert parse_duration("90m") == dt.timedelta(minutes=90)
    assert parse_duration(" 1D 30s ") == dt.timedelta(days=1, seconds=30)
    for wrong in ("", "3", "3 days", "d3", "-1d", "1y"):
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(wrong)


def test_instants_without_a_zone_are_this_machines() -> None:
    assert parse_instant("2026-11-30T12:00+03:00") == dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
    local = parse_instant("2026-11-30T12:00")
    assert local.tzinfo is not None
    assert local.replace(tzinfo=None) == dt.datetime(2026, 11, 30, 12)
    assert parse_instant("2026-11-30").replace(tzinfo=None) == dt.datetime(2026, 11, 30)
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_instant("next tuesday")


def test_offsets_read_in_days_and_hours() -> None:
    assert describe_offset(dt.timedelta(seconds=20)) == "at the real time"
    assert describe_offset(dt.timedelta(days=9, hours=23, minutes=5)) == (
        "9 d 23 h ahead of the real time"
    )
    assert describe_offset(-dt.timedelta(hours=2, minutes=5)) == "2 h 5 min behind the real time"


# -- the stack ------------------------------------------------------------------------------


def _demo_stack(tmp_path: Path, **options: Any) -> Stack:
    config = StackConfig(
        root=tmp_path, data_dir=tmp_path / "data", base_port=18001, demo_clock=True, **options
    )
    config.data_dir.mkdir(exist_ok=True)
    stack = Stack(config)
    stack._bootstrap_servers = "127.0.0.1:19092"
    return stack


def test_every_service_and_simulator_of_a_demo_clock_stack_follows_it(tmp_path: Path) -> None:
    stack = _demo_stack(tmp_path)
    clock_file = tmp_path / "data" / DEMO_CLOCK_FILE
    endpoint = ServiceEndpoint("orders", "127.0.0.1", 18003, "postgresql+asyncpg://h/o")

    env = stack.service_env(endpoint)
    simulator_env = stack._with_clock({"PYTHONUNBUFFERED": "1"})

    for child in (env, simulator_env):
        assert child[CLOCK_FILE_ENV] == str(clock_file)
        assert child["PYTHONPATH"].split(os.pathsep)[0] == str(SITE_DIR)
    plain = StackConfig(root=tmp_path, data_dir=tmp_path / "data")
    assert CLOCK_FILE_ENV not in Stack(plain, _bootstrap_servers="b:9092").service_env(endpoint)


def test_the_clock_starts_at_the_real_time_and_is_kept_across_runs(tmp_path: Path) -> None:
    first = _demo_stack(tmp_path)
    first._set_up_clock()
    clock = DemoClock(tmp_path / "data" / DEMO_CLOCK_FILE)
    assert not first.clock_kept
    assert abs(clock.offset()) < dt.timedelta(seconds=5)
    clock.set(NOVEMBER_END)

    again = _demo_stack(tmp_path)
    again._set_up_clock()
    assert again.clock_kept
    assert close_to(clock.now(), NOVEMBER_END)

    fresh = _demo_stack(tmp_path, fresh=True)
    fresh._set_up_clock()
    assert not fresh.clock_kept
    assert abs(clock.offset()) < dt.timedelta(seconds=5)


def test_without_time_machine_the_demo_clock_stack_does_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("vitrina_cli.stack.time_machine_available", lambda: False)

    with pytest.raises(StackError, match="needs time-machine"):
        _demo_stack(tmp_path)._set_up_clock()


def test_a_running_stack_says_who_follows_its_clock_until_it_stops(tmp_path: Path) -> None:
    stack = _demo_stack(tmp_path)
    stack._take_lock()
    stack._set_up_clock()
    stack.services = [
        ServiceEndpoint(name, "127.0.0.1", 18001 + i, "postgresql+asyncpg://h/x")
        for i, name in enumerate(("identity", "orders"))
    ]
    stack._tell_clock()
    try:
        told = running_clock(tmp_path / "data")
        assert told.clock_file == tmp_path / "data" / DEMO_CLOCK_FILE
        assert told.identity_url == "http://127.0.0.1:18001"
        assert told.orders_url == "http://127.0.0.1:18002"
        assert told.followers == {
            "identity": "http://127.0.0.1:18001/health/live",
            "orders": "http://127.0.0.1:18002/health/live",
        }
    finally:
        stack.stop()
    assert not (tmp_path / "data" / DEMO_CLOCK_STACK_FILE).exists()
    assert (tmp_path / "data" / DEMO_CLOCK_FILE).exists()  # the calendar is kept


def test_a_stack_that_failed_to_start_leaves_the_running_ones_file_alone(tmp_path: Path) -> None:
    running = _demo_stack(tmp_path)
    running._take_lock()
    StackClock(tmp_path / "c", "http://i", "http://o", {}).save(
        tmp_path / "data" / DEMO_CLOCK_STACK_FILE
    )
    running._clock_told = True
    second = _demo_stack(tmp_path)
    with pytest.raises(StackError):
        second.start()
    second.stop()
    try:
        assert (tmp_path / "data" / DEMO_CLOCK_STACK_FILE).exists()
    finally:
        running.stop()


# -- the commands ---------------------------------------------------------------------------


def vitrina(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(
        app, ["time", *args, "--data-dir", str(data_dir)], env={"COLUMNS": "200"}
    )


@contextlib.contextmanager
def follower(clock_file: Path | None) -> Iterator[str]:
    """A plain HTTP server, following ``clock_file`` (None: on the real time); its URL."""
    port = free_port()
    env = {**os.environ, **(process_env(clock_file) if clock_file else {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.TransportError):
                httpx.get(url)
                break
            assert time.monotonic() < deadline, "the follower did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Stack]:
    """A stack on the demo clock, as far as the commands can tell: its lock held, its clock
    written down with one follower (added by the test)."""
    stack = _demo_stack(tmp_path)
    stack._take_lock()
    stack._set_up_clock()
    stack.config.clock.set(NOVEMBER_END)  # type: ignore[union-attr]
    yield stack
    stack.stop()


def _tell(stack: Stack, followers: dict[str, str]) -> None:
    assert stack.config.clock is not None
    StackClock(stack.config.clock.path, "http://identity", "http://orders", followers).save(
        stack.config.data_dir / DEMO_CLOCK_STACK_FILE
    )
    stack._clock_told = True


@pytest.fixture
def orders_advanced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dt.datetime]]:
    """What the commands asked orders to apply (orders' own part is `time advance`'s test)."""
    calls: list[tuple[str, dt.datetime]] = []

    @contextlib.contextmanager
    def session(identity_url: str, client_id: str, secret: str) -> Iterator[str]:
        yield identity_url

    monkeypatch.setattr(ops, "operator_session", session)
    monkeypatch.setattr(
        ops, "advance_orders", lambda operator, url, moment: calls.append((url, moment))
    )
    return calls


@pytest.mark.parametrize("command", [["show"], ["set", "2026-12-01"], ["forward", "3d"]])
def test_without_a_stack_on_the_demo_clock_the_commands_say_how_to_get_one(
    tmp_path: Path, command: list[str]
) -> None:
    data_dir = tmp_path / "data"

    nothing_runs = vitrina(data_dir, *command)

    assert nothing_runs.exit_code == 1
    assert "no `vitrina dev` runs on" in nothing_runs.output
    assert "./vitrina dev --demo-clock" in nothing_runs.output

    real_time = Stack(StackConfig(root=tmp_path, data_dir=data_dir))
    data_dir.mkdir()
    real_time._take_lock()
    try:
        without = vitrina(data_dir, *command)
    finally:
        real_time.stop()
    assert without.exit_code == 1
    assert "lives on the real time" in without.output
    assert "./vitrina dev --demo-clock" in without.output


def test_show_tells_the_stacks_time(running: Stack) -> None:
    _tell(running, {})

    shown = vitrina(running.config.data_dir, "show")

    assert shown.exit_code == 0, shown.output
    assert NOVEMBER_END.astimezone().strftime("%Y-%m-%d %H:%M") in shown.output
    assert "demo clock" in shown.output


def test_set_and_forward_move_every_follower_and_then_orders(
    running: Stack, orders_advanced: list[tuple[str, dt.datetime]]
) -> None:
    clock = running.config.clock
    assert clock is not None
    with follower(clock.path) as url:
        _tell(running, {"orders": url})

        moved = vitrina(running.config.data_dir, "set", "2026-12-01T10:00+03:00")

        assert moved.exit_code == 0, moved.output
        december = dt.datetime(2026, 12, 1, 7, tzinfo=dt.UTC)
        assert close_to(clock.now(), december)
        told = httpx.get(url).headers["date"]
        assert "01 Dec 2026" in told  # the process lives on the new day
        assert orders_advanced == [("http://orders", december)]
        assert "1 processes follow it" in moved.output

        forward = vitrina(running.config.data_dir, "forward", "3d")

        assert forward.exit_code == 0, forward.output
        assert close_to(clock.now(), december + dt.timedelta(days=3))
        assert "04 Dec 2026" in httpx.get(url).headers["date"]
        assert len(orders_advanced) == 2
        assert close_to(orders_advanced[1][1], december + dt.timedelta(days=3))


def test_the_clock_does_not_go_back(
    running: Stack, orders_advanced: list[tuple[str, dt.datetime]]
) -> None:
    _tell(running, {})

    back = vitrina(running.config.data_dir, "set", "2026-11-01")

    assert back.exit_code == 1
    assert "moves only forward" in back.output
    assert close_to(DemoClock(running.config.data_dir / DEMO_CLOCK_FILE).now(), NOVEMBER_END)
    assert orders_advanced == []


def test_a_process_that_does_not_follow_is_named_and_fails_the_move(
    running: Stack, orders_advanced: list[tuple[str, dt.datetime]]
) -> None:
    with follower(None) as url:
        _tell(running, {"billing": url, "catalog": f"http://127.0.0.1:{free_port()}/"})

        moved = vitrina(running.config.data_dir, "forward", "2d")

    assert moved.exit_code == 1
    assert "billing still tells" in moved.output
    assert "catalog does not answer" in moved.output
    assert orders_advanced == []


def test_wrong_times_are_one_line(running: Stack) -> None:
    _tell(running, {})

    assert "is not an ISO date" in vitrina(running.config.data_dir, "set", "tuesday").output
    assert "is not a duration" in vitrina(running.config.data_dir, "forward", "1y").output
