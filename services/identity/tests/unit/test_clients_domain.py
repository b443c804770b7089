"""Scopes by organization kind, and client secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.clients.domain import (
    ALLOWED_SCOPES,
    SCOPES,
    ScopeNotAllowed,
    check_scopes,
    hash_secret,
    new_client_id,
    new_secret,
    secret_matches,
)
from vitrina_kit.auth import OPERATOR_ONLY_SCOPES, OrganizationKind
from vitrina_kit.testing.tokens import ALL_SCOPES

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PEPPER = "a-test-pepper-of-enough-length"


def test_the_vocabulary_is_the_one_the_kit_knows() -> None:
    assert set(SCOPES) == ALL_SCOPES
    assert ALLOWED_SCOPES[OrganizationKind.OPERATOR] == frozenset(SCOPES)


@pytest.mark.parametrize("kind", [OrganizationKind.PARTNER, OrganizationKind.BUSINESS])
def test_operator_scopes_are_the_operators_alone(kind: OrganizationKind) -> None:
    assert not ALLOWED_SCOPES[kind] & OPERATOR_ONLY_SCOPES
    with pytest.raises(ScopeNotAllowed) as raised:
        check_scopes(kind, ["identity:read", "identity:admin"])
    assert raised.value.status == 422
    assert raised.value.code == "invalid_scope"


def test_a_partner_sells_and_a_business_buys() -> None:
    assert "catalog:write" in ALLOWED_SCOPES[OrganizationKind.PARTNER]
    assert "orders:write" not in ALLOWED_SCOPES[OrganizationKind.PARTNER]
    assert "orders:write" in ALLOWED_SCOPES[OrganizationKind.BUSINESS]
    assert "catalog:write" not in ALLOWED_SCOPES[OrganizationKind.BUSINESS]


def test_checked_scopes_are_sorted_without_repeats_and_unknown_ones_refused() -> None:
    kind = OrganizationKind.BUSINESS
    assert check_scopes(kind, ["orders:write", "catalog:read", "orders:write"]) == [
        "catalog:read",
        "orders:write",
    ]
    with pytest.raises(ScopeNotAllowed):
        check_scopes(kind, ["orders:delete"])


def test_secrets_are_long_random_and_ids_distinct() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(len(secret) >= 43 for secret in secrets)  # 32 bytes, base64
    assert len({new_client_id() for _ in range(100)}) == 100


def test_the_hash_is_keyed() -> None:
    assert hash_secret("s", pepper=PEPPER) == hash_secret("s", pepper=PEPPER)
    assert hash_secret("s", pepper=PEPPER) != hash_secret("s", pepper=PEPPER + "x")
    assert len(hash_secret("s", pepper=PEPPER)) == 64


def test_the_previous_secret_opens_only_inside_the_overlap_window() -> None:
    old, new = new_secret(), new_secret()
    stored = {
        "pepper": PEPPER,
        "current_hash": hash_secret(new, pepper=PEPPER),
        "previous_hash": hash_secret(old, pepper=PEPPER),
        "previous_expires_at": NOW + timedelta(hours=24),
    }
    assert secret_matches(new, now=NOW, **stored)
    assert secret_matches(old, now=NOW + timedelta(hours=23), **stored)
    assert not secret_matches(old, now=NOW + timedelta(hours=24), **stored)
    assert secret_matches(new, now=NOW + timedelta(days=300), **stored)
    assert not secret_matches("guess", now=NOW, **stored)


def test_no_previous_secret_opens_nothing_even_an_empty_one() -> None:
    assert not secret_matches(
        "",
        pepper=PEPPER,
        current_hash=hash_secret("x", pepper=PEPPER),
        previous_hash=None,
        previous_expires_at=None,
        now=NOW,
    )
