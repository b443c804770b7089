"""The signing key schedule, on plain values and a made-up timeline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from identity.keys.domain import (
    is_published,
    needs_rotation,
    plan_rotation,
    signing_key,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
LIFETIME = 10 * MINUTE
GRACE = MINUTE


@dataclass(frozen=True)
class Key:
    kid: str
    created_at: datetime
    activates_at: datetime
    retires_at: datetime | None = None
    expires_at: datetime | None = None


def rotate(keys: list[Key], now: datetime, kid: str, ahead: timedelta) -> list[Key]:
    plan = plan_rotation(keys, now, publish_ahead=ahead, token_lifetime=LIFETIME, grace=GRACE)
    retired = {r.kid: r for r in plan.retirements}
    moved = [
        replace(k, retires_at=retired[k.kid].retires_at, expires_at=retired[k.kid].expires_at)
        if k.kid in retired
        else k
        for k in keys
    ]
    return [*moved, Key(kid, created_at=now, activates_at=plan.activates_at)]


def test_the_first_key_signs_at_once() -> None:
    keys = rotate([], T0, "a", ahead=10 * MINUTE)
    assert keys[0].activates_at == T0
    assert signing_key(keys, T0) == keys[0]


def test_a_new_key_is_published_ahead_and_the_old_one_outlives_its_last_token() -> None:
    keys = rotate([], T0, "a", ahead=10 * MINUTE)
    keys = rotate(keys, T0 + 60 * MINUTE, "b", ahead=10 * MINUTE)
    a, b = keys
    activation = T0 + 70 * MINUTE

    # Published at once, but the old key signs until the new one activates.
    assert is_published(b, T0 + 60 * MINUTE)
    assert signing_key(keys, activation - timedelta(seconds=1)) == a
    assert signing_key(keys, activation) == b
    # The old key retires then, and stays published until its last token (signed an instant
    # before retiring, living LIFETIME) has expired, plus the grace.
    assert a.retires_at == activation
    assert a.expires_at == activation + LIFETIME + GRACE
    assert is_published(a, activation + LIFETIME)
    assert not is_published(a, activation + LIFETIME + GRACE)
    assert is_published(b, activation + 24 * 60 * MINUTE)


def test_rotating_again_before_activation_cuts_the_waiting_key_short() -> None:
    keys = rotate([], T0, "a", ahead=10 * MINUTE)
    keys = rotate(keys, T0 + MINUTE, "b", ahead=10 * MINUTE)
    keys = rotate(keys, T0 + 2 * MINUTE, "c", ahead=10 * MINUTE)
    a, b, c = keys
    assert a.retires_at == T0 + 11 * MINUTE  # untouched by the second rotation
    assert b.retires_at == T0 + 12 * MINUTE  # signs for one minute only
    assert signing_key(keys, T0 + 11 * MINUTE) == b
    assert signing_key(keys, T0 + 12 * MINUTE) == c


def test_with_no_publish_ahead_the_new_key_signs_immediately() -> None:
    keys = rotate(rotate([], T0, "a", ahead=MINUTE * 0), T0 + MINUTE, "b", ahead=MINUTE * 0)
    assert signing_key(keys, T0 + MINUTE).kid == "b"
    assert keys[0].retires_at == T0 + MINUTE


def test_rotation_is_due_when_the_signing_key_is_old_and_no_successor_waits() -> None:
    max_age = timedelta(days=30)
    keys = rotate([], T0, "a", ahead=10 * MINUTE)
    assert needs_rotation([], T0, max_age=max_age)
    assert not needs_rotation(keys, T0 + timedelta(days=29), max_age=max_age)
    assert needs_rotation(keys, T0 + timedelta(days=30), max_age=max_age)
    keys = rotate(keys, T0 + timedelta(days=30), "b", ahead=10 * MINUTE)
    assert not needs_rotation(keys, T0 + timedelta(days=30, minutes=5), max_age=max_age)
