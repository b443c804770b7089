"""What a connector must carry to work, as plain rules on plain values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

ConnectorKind = Literal["edo_operator", "onec_odata", "partner_webhook"]
AuthMethod = Literal[
    "oauth2_client_credentials", "oauth2_authorization_code", "basic", "hmac", "none"
]

OAUTH_METHODS: frozenset[str] = frozenset(
    {"oauth2_client_credentials", "oauth2_authorization_code"}
)

# The secret each authentication method needs; any other secret name is refused, so a typo
# ("clientsecret") is caught when it is saved rather than when the connector first fails.
REQUIRED_SECRETS: Mapping[str, frozenset[str]] = {
    "oauth2_client_credentials": frozenset({"client_secret"}),
    "oauth2_authorization_code": frozenset({"client_secret"}),
    "basic": frozenset({"password"}),
    "hmac": frozenset({"signing_secret"}),
    "none": frozenset(),
}

# Non-secret settings a kind cannot work without.
REQUIRED_OPTIONS: Mapping[str, frozenset[str]] = {
    "edo_operator": frozenset({"box_id"}),
    "onec_odata": frozenset(),
    "partner_webhook": frozenset(),
}


def configuration_problems(
    *,
    kind: str,
    auth_method: str,
    login: str | None,
    token_url: str | None,
    authorize_url: str | None,
    options: Mapping[str, str],
    secret_names: Iterable[str],
) -> list[str]:
    """Everything that keeps a connector from working, one sentence each; empty if none."""
    problems: list[str] = []
    names = set(secret_names)
    required = REQUIRED_SECRETS[auth_method]
    if missing := sorted(required - names):
        problems.append(f"auth method {auth_method} needs the secret(s) {', '.join(missing)}")
    if unknown := sorted(names - required):
        problems.append(f"auth method {auth_method} takes no secret(s) {', '.join(unknown)}")
    if auth_method in OAUTH_METHODS and not token_url:
        problems.append(f"auth method {auth_method} needs token_url")
    if auth_method == "oauth2_authorization_code" and not authorize_url:
        problems.append("auth method oauth2_authorization_code needs authorize_url")
    if auth_method in OAUTH_METHODS | {"basic"} and not login:
        problems.append(f"auth method {auth_method} needs login (the client id or user name)")
    if missing_options := sorted(REQUIRED_OPTIONS[kind] - set(options)):
        problems.append(f"a {kind} connector needs the option(s) {', '.join(missing_options)}")
    return problems
