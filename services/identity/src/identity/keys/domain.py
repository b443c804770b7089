"""The life of a token signing key, as plain rules on four instants.

- ``created_at``: from then on the key is in the JWKS, so verifiers can learn it ahead of use;
- ``activates_at``: from then on it signs (``publish_ahead`` after creation when it replaces a
  key, at once for the very first one);
- ``retires_at``: the next key's ``activates_at``; it signs no more;
- ``expires_at``: ``retires_at`` plus the longest token lifetime (and a grace for verifiers'
  clock skew): its last token has expired, so it leaves the JWKS.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar


class KeyTimes(Protocol):
    @property
    def kid(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def activates_at(self) -> datetime: ...
    @property
    def retires_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime | None: ...


K = TypeVar("K", bound=KeyTimes)


def is_published(key: KeyTimes, now: datetime) -> bool:
    """Is the key in the JWKS at ``now``."""
    return key.expires_at is None or now < key.expires_at


def signs_at(key: KeyTimes, now: datetime) -> bool:
    return key.activates_at <= now and (key.retires_at is None or now < key.retires_at)


def signing_key(keys: Iterable[K], now: datetime) -> K | None:
    """The key that signs tokens at ``now`` (the most recently activated one)."""
    candidates = [key for key in keys if signs_at(key, now)]
    return max(candidates, key=lambda key: key.activates_at, default=None)


def needs_rotation(keys: Sequence[KeyTimes], now: datetime, *, max_age: timedelta) -> bool:
    """Is it time for a new key: none signs now, or the one that does is older than
    ``max_age`` and no successor is already waiting to take over."""
    current = signing_key(keys, now)
    if current is None:
        return not any(key.activates_at > now for key in keys)
    successor_waiting = any(key.activates_at > now for key in keys)
    return not successor_waiting and now - current.created_at >= max_age


@dataclass(frozen=True)
class Retirement:
    kid: str
    retires_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Rotation:
    """What a rotation at some instant does: when the new key signs, and which keys retire."""

    activates_at: datetime
    retirements: tuple[Retirement, ...]


def plan_rotation(
    keys: Sequence[KeyTimes],
    now: datetime,
    *,
    publish_ahead: timedelta,
    token_lifetime: timedelta,
    grace: timedelta,
) -> Rotation:
    """A new key replacing the current ones.

    It signs ``publish_ahead`` from now, so that every verifier's cached JWKS has it by then;
    with no key signing now there is nothing to wait for, so it signs at once. Every key that
    would still sign then retires at that instant, and leaves the JWKS once the last token it
    could have signed has expired.
    """
    activates_at = now + publish_ahead if signing_key(keys, now) is not None else now
    retirements = tuple(
        Retirement(
            kid=key.kid,
            retires_at=(retires_at := max(key.activates_at, activates_at)),
            expires_at=retires_at + token_lifetime + grace,
        )
        for key in keys
        if key.retires_at is None or key.retires_at > activates_at
    )
    return Rotation(activates_at=activates_at, retirements=retirements)
