"""The OAuth 2.0 client credentials grant (RFC 6749 §4.4) as plain rules: reading the request,
authenticating the client's way of presenting itself, choosing scopes, writing the claims.

Errors here are OAuth's own (RFC 6749 §5.2), not problem+json: token clients of every OAuth
library parse ``{"error": ..., "error_description": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

GRANT_TYPE = "client_credentials"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - the JWT "typ" of access tokens, not a secret
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_CLIENT_ID_LENGTH = 100
MAX_SECRET_LENGTH = 200

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


class ErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    INVALID_CLIENT = "invalid_client"
    INVALID_GRANT = "invalid_grant"
    UNAUTHORIZED_CLIENT = "unauthorized_client"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    INVALID_SCOPE = "invalid_scope"
    # Not among §5.2's codes, which have none for "too many requests"; RFC 6749 uses this one
    # (§4.1.2.1) for a server refusing because of load, the closest meaning. The status (429)
    # and Retry-After are what a client acts on.
    TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"


class OAuthError(Exception):
    """A refused token (or introspection) request, rendered as RFC 6749 §5.2 says."""

    def __init__(
        self,
        error: ErrorCode,
        description: str,
        *,
        status: int = HTTPStatus.BAD_REQUEST,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def invalid_request(description: str) -> OAuthError:
    return OAuthError(ErrorCode.INVALID_REQUEST, description)


def invalid_client(description: str = "Client authentication failed.") -> OAuthError:
    # §5.2: 401 with the scheme the client may authenticate with. The reason stays vague on
    # purpose: an unknown client, a wrong secret and a revoked client look the same.
    return OAuthError(
        ErrorCode.INVALID_CLIENT,
        description,
        status=HTTPStatus.UNAUTHORIZED,
        headers={"WWW-Authenticate": 'Basic realm="vitrina", charset="UTF-8"'},
    )


def rate_limited(retry_after_seconds: int) -> OAuthError:
    return OAuthError(
        ErrorCode.TEMPORARILY_UNAVAILABLE,
        f"Too many token requests; retry in {retry_after_seconds} s.",
        status=HTTPStatus.TOO_MANY_REQUESTS,
        headers={"Retry-After": str(retry_after_seconds)},
    )


# -- reading the request ------------------------------------------------------------------


def parse_form(content_type: str | None, body: bytes) -> dict[str, str]:
    """The parameters of a form-encoded request (§3.2: each at most once; an empty one is as
    if it were not sent)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != FORM_CONTENT_TYPE:
        raise invalid_request(f"Send the parameters as {FORM_CONTENT_TYPE}.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError) as error:
        raise invalid_request("The request body is not a valid form.") from error
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise invalid_request(f"The parameter {name} is repeated.")
        form[name] = value
    return {name: value for name, value in form.items() if value != ""}


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    method: str
    """``client_secret_basic`` or ``client_secret_post``."""


@dataclass(frozen=True)
class TokenRequest:
    credentials: ClientCredentials
    scopes: frozenset[str] | None
    """The scopes asked for; None: every scope the client holds."""


def token_request(form: Mapping[str, str], authorization: str | None) -> TokenRequest:
    """What a token request asks for, or the OAuth error it deserves (checked in the order
    RFC 6749 lists them: the request, the grant type, the client, the scope)."""
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise invalid_request("The grant_type parameter is missing.")
    if grant_type != GRANT_TYPE:
        raise OAuthError(
            ErrorCode.UNSUPPORTED_GRANT_TYPE,
            f"This server issues tokens for the {GRANT_TYPE} grant only.",
        )
    credentials = client_credentials(form, authorization)
    return TokenRequest(credentials=credentials, scopes=parse_scope(form.get("scope")))


def client_credentials(form: Mapping[str, str], authorization: str | None) -> ClientCredentials:
    """How the client authenticates (§2.3.1): HTTP Basic or the form, never both."""
    if authorization:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise invalid_client("Authenticate with HTTP Basic or client_id and client_secret.")
        if "client_secret" in form:
            raise invalid_request("Use one client authentication method, not two.")
        client_id, secret = _basic_credentials(encoded.strip())
        if form.get("client_id", client_id) != client_id:
            raise invalid_request("The client_id parameter differs from the Basic credentials.")
        return _checked(client_id, secret, "client_secret_basic")
    posted_id, posted_secret = form.get("client_id"), form.get("client_secret")
    if posted_id is None or posted_secret is None:
        raise invalid_client("Client authentication is missing.")
    return _checked(posted_id, posted_secret, "client_secret_post")


def _basic_credentials(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise invalid_client("The Basic credentials are malformed.") from error
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise invalid_client("The Basic credentials are malformed.")
    # §2.3.1: both are form-encoded before they are joined and base64-encoded.
    return unquote_plus(client_id), unquote_plus(secret)


def _checked(client_id: str, secret: str, method: str) -> ClientCredentials:
    if not client_id or not secret:
        raise invalid_client("Client authentication is missing.")
    if len(client_id) > MAX_CLIENT_ID_LENGTH or len(secret) > MAX_SECRET_LENGTH:
        raise invalid_client()
    return ClientCredentials(client_id=client_id, client_secret=secret, method=method)


def parse_scope(scope: str | None) -> frozenset[str] | None:
    """The space-delimited scope parameter (§3.3) as a set; None when absent."""
    if scope is None:
        return None
    tokens = scope.split(" ")
    if not all(_SCOPE_TOKEN.fullmatch(token) for token in tokens):
        raise OAuthError(ErrorCode.INVALID_SCOPE, "The scope parameter is malformed.")
    return frozenset(tokens)


def granted_scopes(held: Iterable[str], requested: frozenset[str] | None) -> list[str]:
    """The scopes a token gets: what was asked for, if the client holds it all; else all it
    holds (§3.3 lets the server pick a default when the client names none)."""
    held = frozenset(held)
    if requested is None:
        return sorted(held)
    not_held = requested - held
    if not_held:
        raise OAuthError(
            ErrorCode.INVALID_SCOPE,
            f"The client may not ask for: {' '.join(sorted(not_held))}.",
        )
    return sorted(requested)


# -- rate limits --------------------------------------------------------------------------


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window ``now`` falls in (windows are aligned to the epoch, so
    every replica agrees on them)."""
    seconds = window.total_seconds()
    return datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, now.tzinfo)


def retry_after(now: datetime, window: timedelta) -> int:
    """Whole seconds until the current window ends (at least 1)."""
    remaining = window_start(now, window) + window - now
    return max(1, math.ceil(remaining.total_seconds()))


# -- the token ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenSubject:
    client_id: str
    organization_id: uuid.UUID
    organization_kind: str
    scopes: list[str]


def access_token_claims(
    subject: TokenSubject, *, issuer: str, audience: str, now: datetime, lifetime: timedelta
) -> dict[str, Any]:
    """The claims of an access token (RFC 9068), plus the organization it acts for."""
    issued_at = int(now.timestamp())
    return {
        "iss": issuer,
        "aud": audience,
        "sub": subject.client_id,
        "client_id": subject.client_id,
        "org_id": str(subject.organization_id),
        "org_kind": subject.organization_kind,
        "scope": " ".join(subject.scopes),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + int(lifetime.total_seconds()),
        "jti": uuid.uuid4().hex,
    }


def access_token_header(kid: str) -> dict[str, str]:
    return {"alg": "ES256", "typ": TOKEN_TYPE, "kid": kid}
