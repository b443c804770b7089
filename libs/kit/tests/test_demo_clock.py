"""The demo clock (``vitrina_kit.local.clock``): the file's API, and a real process following it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from vitrina_kit.local.clock import (
    CLOCK_FILE_ENV,
    SITE_DIR,
    DemoClock,
    process_env,
    read_clock,
    write_clock,
)

NOVEMBER_END = datetime(2026, 11, 30, 12, tzinfo=UTC)


def close_to(told: datetime, expected: datetime, seconds: float = 5.0) -> bool:
    return abs((told - expected).total_seconds()) < seconds


# -- the file -------------------------------------------------------------------------------


def test_the_clock_ticks_on_from_the_instant_written(tmp_path: Path) -> None:
    clock = DemoClock(tmp_path / "clock")
    assert not clock.exists()

    clock.set(NOVEMBER_END)

    assert clock.exists()
    first = clock.now()
    assert NOVEMBER_END <= first < NOVEMBER_END + timedelta(seconds=5)
    time.sleep(0.05)
    assert clock.now() > first  # at the real pace


def test_the_time_since_it_was_written_counts(tmp_path: Path) -> None:
    """A process started later agrees with one started at once: the file's mtime anchors it."""
    path = tmp_path / "clock"
    write_clock(path, NOVEMBER_END)
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))

    assert close_to(read_clock(path), NOVEMBER_END + timedelta(hours=1))


def test_advance_moves_it_from_where_it_is(tmp_path: Path) -> None:
    clock = DemoClock(tmp_path / "clock")
    clock.set(NOVEMBER_END)

    moved = clock.advance(timedelta(days=3))

    assert close_to(moved, NOVEMBER_END + timedelta(days=3))
    assert close_to(clock.now(), NOVEMBER_END + timedelta(days=3))
    assert (tmp_path / "clock").read_text().strip() == moved.isoformat()
    assert not (tmp_path / "clock.new").exists()  # written aside, renamed into place


def test_reset_puts_it_at_the_real_time(tmp_path: Path) -> None:
    clock = DemoClock(tmp_path / "clock")
    clock.set(NOVEMBER_END + timedelta(days=400))

    clock.reset()

    assert abs(clock.offset()) < timedelta(seconds=5)


def test_it_takes_only_aware_instants_and_reads_only_instants(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    with pytest.raises(ValueError, match="timezone-aware"):
        write_clock(path, datetime(2026, 11, 30, 12))
    with pytest.raises(FileNotFoundError):
        read_clock(path)
    path.write_text("next tuesday\n")
    with pytest.raises(ValueError, match="Invalid isoformat"):
        read_clock(path)


def test_a_process_env_puts_the_site_folder_first(tmp_path: Path) -> None:
    env = process_env(tmp_path / "clock", {"PYTHONPATH": "/elsewhere"})

    assert env == {
        CLOCK_FILE_ENV: str(tmp_path / "clock"),
        "PYTHONPATH": os.pathsep.join([str(SITE_DIR), "/elsewhere"]),
    }
    assert process_env(tmp_path / "clock", {})["PYTHONPATH"] == str(SITE_DIR)
    assert (SITE_DIR / "sitecustomize.py").is_file()


# -- a process that follows it --------------------------------------------------------------

# Answers each line on stdin with what the process's clocks say.
TELLER = """
import sys, time
from datetime import UTC, date, datetime
for _ in sys.stdin:
    print(datetime.now(UTC).isoformat(), time.time(), date.today().isoformat(), time.monotonic(),
          flush=True)
"""


class Teller:
    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", TELLER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ask(self) -> tuple[datetime, float, date, float]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("?\n")
        self.process.stdin.flush()
        now, timestamp, today, monotonic = self.process.stdout.readline().split()
        return (
            datetime.fromisoformat(now),
            float(timestamp),
            date.fromisoformat(today),
            float(monotonic),
        )

    def stop(self) -> str:
        """Its stderr."""
        assert self.process.stdin is not None
        assert self.process.stderr is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        return self.process.stderr.read()


@pytest.fixture
def follower_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **process_env(tmp_path / "clock")}


def test_a_process_started_with_it_lives_at_its_time_and_follows_a_move(
    tmp_path: Path, follower_env: dict[str, str]
) -> None:
    clock = DemoClock(tmp_path / "clock")
    clock.set(NOVEMBER_END)
    teller = Teller(follower_env)
    try:
        now, timestamp, today, monotonic = teller.ask()
        assert close_to(now, clock.now())
        assert close_to(datetime.fromtimestamp(timestamp, UTC), clock.now())
        assert today == date(2026, 11, 30)
        assert abs(monotonic - time.monotonic()) < 5  # the monotonic clock stays real

        moved = clock.advance(timedelta(days=1, hours=12))  # 2026-12-02, a new month

        deadline = time.monotonic() + 5
        while not close_to(teller.ask()[0], moved):
            assert time.monotonic() < deadline, "the process did not follow the move"
            time.sleep(0.05)
        now, timestamp, today, _ = teller.ask()
        assert close_to(datetime.fromtimestamp(timestamp, UTC), moved)
        assert today == date(2026, 12, 2)
    finally:
        stderr = teller.stop()
    assert "DEMO CLOCK: this process's wall clock is shifted" in stderr  # loud, at start
    assert str(tmp_path / "clock") in stderr
    assert "DEMO CLOCK moved" in stderr


def test_without_the_variable_or_the_site_folder_the_clock_is_real(
    tmp_path: Path, follower_env: dict[str, str]
) -> None:
    DemoClock(tmp_path / "clock").set(NOVEMBER_END + timedelta(days=400))
    without_variable = {k: v for k, v in follower_env.items() if k != CLOCK_FILE_ENV}
    without_site = {**follower_env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}

    for env in (without_variable, without_site):
        teller = Teller(env)
        try:
            assert close_to(teller.ask()[0], datetime.now(UTC))
        finally:
            assert "DEMO CLOCK" not in teller.stop()


def test_a_process_asked_to_follow_a_clock_it_cannot_read_does_not_start(
    tmp_path: Path, follower_env: dict[str, str]
) -> None:
    started = subprocess.run(
        [sys.executable, "-c", "print('started')"],
        env=follower_env,  # no clock file written
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert started.returncode == 2
    assert "started" not in started.stdout
    assert "cannot read the demo clock" in started.stderr
