"""API clients and scopes as identity's rules see them: plain values, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from vitrina_kit.auth import OrganizationKind
from vitrina_kit.problems import InvalidStateTransition, NotFound, UnprocessableEntity

# -- scopes -------------------------------------------------------------------------------

SCOPES: Mapping[str, str] = MappingProxyType(
    {
        "catalog:read": "Read the catalog: products, plans, prices.",
        "catalog:write": "Create and change the organization's own products and plans.",
        "orders:read": "Read the organization's orders and subscriptions.",
        "orders:write": "Place orders and change subscriptions.",
        "billing:read": "Read invoices, closing documents, payments and settlements.",
        "billing:write": "Manage the organization's billing account.",
        "integrations:read": "Read connectors, webhooks and their delivery log.",
        "integrations:write": "Configure connectors and webhooks.",
        "identity:read": "Read the organization and its API clients.",
        "identity:write": "Edit the organization's profile and manage its API clients.",
        "catalog:moderate": "Operator: approve or reject products.",
        "identity:admin": "Operator: register, approve and reject organizations, rotate keys, "
        "introspect tokens.",
        "ops:read": "Operator: outbox backlog, dead letters, audit log.",
    }
)
"""Every scope a token may carry, with what it allows."""

_EVERYONE = frozenset(
    {
        "catalog:read",
        "orders:read",
        "billing:read",
        "integrations:read",
        "integrations:write",
        "identity:read",
        "identity:write",
    }
)

ALLOWED_SCOPES: Mapping[OrganizationKind, frozenset[str]] = MappingProxyType(
    {
        # A partner sells: its products, the subscriptions to them, its settlements.
        OrganizationKind.PARTNER: _EVERYONE | {"catalog:write"},
        # A business buys: orders and subscriptions, its billing account.
        OrganizationKind.BUSINESS: _EVERYONE | {"orders:write", "billing:write"},
        OrganizationKind.OPERATOR: frozenset(SCOPES),
    }
)
"""Which scopes a client of each kind of organization may hold."""


class ScopeNotAllowed(UnprocessableEntity):
    code = "invalid_scope"
    title = "A scope is unknown or not allowed for this organization"

    def __init__(self, kind: OrganizationKind, scopes: Iterable[str]) -> None:
        names = " ".join(sorted(scopes))
        super().__init__(
            f"A {kind} organization's client cannot hold: {names}.",
            **{"invalid-params": [{"name": "body.scopes", "reason": f"not allowed: {names}"}]},
        )


def check_scopes(kind: OrganizationKind, scopes: Iterable[str]) -> list[str]:
    """The scopes, sorted and without repeats, if a client of ``kind`` may hold them all."""
    wanted = set(scopes)
    refused = wanted - ALLOWED_SCOPES[kind]
    if refused:
        raise ScopeNotAllowed(kind, refused)
    return sorted(wanted)


# -- clients ------------------------------------------------------------------------------


class ClientStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class ClientNotFound(NotFound):
    code = "client_not_found"
    title = "API client not found"

    def __init__(self, client_id: str) -> None:
        super().__init__(f"There is no API client {client_id} you can see.")


class ClientRevoked(InvalidStateTransition):
    code = "client_revoked"
    title = "The API client is revoked"

    def __init__(self, client_id: str) -> None:
        super().__init__(f"The API client {client_id} is revoked; create a new one.")


class OrganizationCannotHaveClients(InvalidStateTransition):
    code = "organization_cannot_have_clients"
    title = "A rejected organization cannot have API clients"

    def __init__(self) -> None:
        super().__init__("The organization's registration was rejected.")


def new_client_id() -> str:
    """A client id: public, unguessable enough not to enumerate, safe in a URL and in Basic."""
    return "vc_" + secrets.token_hex(12)


def new_secret() -> str:
    """A client secret: 32 random bytes, url-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, *, pepper: str) -> str:
    """The stored form of a client secret.

    A keyed SHA-256, not a slow password hash: the secrets are 256 random bits that we make,
    never passwords people choose, so there is no dictionary to try and brute force is out of
    reach whatever the hash costs; a slow hash would only make every token request slower.
    The pepper (a setting, not in the database) keeps a stolen table from even being tested
    offline.
    """
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(
    secret: str,
    *,
    pepper: str,
    current_hash: str,
    previous_hash: str | None,
    previous_expires_at: datetime | None,
    now: datetime,
) -> bool:
    """Does ``secret`` open the client: its current secret, or the one before the last
    rotation while the overlap window lasts. Constant time either way."""
    presented = hash_secret(secret, pepper=pepper)
    current = hmac.compare_digest(presented, current_hash)
    previous = hmac.compare_digest(presented, previous_hash or "")
    in_overlap = previous_expires_at is not None and now < previous_expires_at
    return current or (previous and previous_hash is not None and in_overlap)
