"""Signing webhook deliveries, and verifying them on the receiving side.

Every delivery carries ``Vitrina-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
HMAC-SHA256, keyed with the endpoint's signing secret, over ``f"{t}.{body}"`` (the raw request
body, byte for byte). The timestamp is signed with the body, so a captured request cannot be
replayed later: a receiver refuses any signature older than its replay window.

This module uses the standard library only, so a partner can copy it as it is::

    from signing import InvalidSignature, verify

    try:
        verify(secret, request_body, request.headers["Vitrina-Signature"])
    except InvalidSignature:
        return 400

During a secret rotation the header carries one ``v1`` per secret in force —
``t=<unix seconds>,v1=<with the new secret>,v1=<with the old one>`` — for the grace period the
old secret is honoured; any one matching is enough, so a receiver still holding the old secret
and one already holding the new both verify.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

SIGNATURE_HEADER = "Vitrina-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
"""The replay window: five minutes either way absorbs clock skew, and little more."""


class InvalidSignature(ValueError):
    """The request was not signed with the secret, or was signed too long ago (or ahead)."""


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(
    secrets: str | Sequence[str], body: bytes, *, timestamp: int | None = None
) -> str:
    """The ``Vitrina-Signature`` value for ``body`` sent at ``timestamp`` (default: now): one
    ``v1`` per secret, in the order given (during a rotation: the new secret, then the old)."""
    at = int(time.time()) if timestamp is None else timestamp
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys:
        raise ValueError("a signature needs at least one secret")
    return ",".join([f"t={at}", *(f"{SCHEME}={signature(key, body, at)}" for key in keys)])


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check ``header`` against ``body``; return the signed timestamp, or raise
    :class:`InvalidSignature`.

    Verify the raw body as received, before parsing it: re-serialised JSON differs by a byte.
    """
    timestamp, candidates = _parse(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise InvalidSignature("the signature's timestamp is outside the replay window")
    expected = signature(secret, body, timestamp)
    # compare_digest: the time taken must not tell an attacker how much of a guess was right.
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidSignature("no signature matches the body")
    return timestamp


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature(f"expected 't=<unix seconds>,{SCHEME}=<hex>'")
    return timestamp, candidates
