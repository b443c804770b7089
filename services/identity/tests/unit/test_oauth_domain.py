"""Reading token requests as RFC 6749 says, without a server."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from identity.oauth.domain import (
    OAuthError,
    granted_scopes,
    parse_form,
    parse_scope,
    retry_after,
    token_request,
    window_start,
)

FORM = "application/x-www-form-urlencoded"


def basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


def refused(call: object) -> OAuthError:
    with pytest.raises(OAuthError) as raised:
        call()
    return raised.value


def test_a_form_is_parsed_empty_values_dropped() -> None:
    form = parse_form(f"{FORM}; charset=UTF-8", b"grant_type=client_credentials&scope=&x=%20y")
    assert form == {"grant_type": "client_credentials", "x": " y"}


def test_a_repeated_parameter_or_another_media_type_is_an_invalid_request() -> None:
    repeated = refused(lambda: parse_form(FORM, b"grant_type=a&grant_type=b"))
    as_json = refused(lambda: parse_form("application/json", b"{}"))
    assert repeated.error == as_json.error == "invalid_request"
    assert repeated.status == 400


def test_basic_credentials_are_form_decoded() -> None:
    asked = token_request({"grant_type": "client_credentials"}, basic("vc_1:s%2Bcr%3At+x"))
    assert asked.credentials.client_id == "vc_1"
    assert asked.credentials.client_secret == "s+cr:t x"
    assert asked.credentials.method == "client_secret_basic"
    assert asked.scopes is None


def test_post_credentials() -> None:
    asked = token_request(
        {
            "grant_type": "client_credentials",
            "client_id": "vc_1",
            "client_secret": "s",
            "scope": "b a",
        },
        None,
    )
    assert asked.credentials.method == "client_secret_post"
    assert asked.scopes == {"a", "b"}


@pytest.mark.parametrize(
    ("form", "authorization", "error", "status"),
    [
        ({}, None, "invalid_request", 400),
        ({"grant_type": "password"}, None, "unsupported_grant_type", 400),
        ({"grant_type": "client_credentials"}, None, "invalid_client", 401),
        ({"grant_type": "client_credentials", "client_id": "x"}, None, "invalid_client", 401),
        ({"grant_type": "client_credentials"}, "Bearer abc", "invalid_client", 401),
        ({"grant_type": "client_credentials"}, "Basic !!!", "invalid_client", 401),
        ({"grant_type": "client_credentials"}, basic("no-colon"), "invalid_client", 401),
        (
            {"grant_type": "client_credentials", "client_secret": "s"},
            basic("a:b"),
            "invalid_request",
            400,
        ),
        (
            {"grant_type": "client_credentials", "client_id": "other"},
            basic("a:b"),
            "invalid_request",
            400,
        ),
        ({"grant_type": "client_credentials", "scope": "a  b"}, basic("a:b"), "invalid_scope", 400),
        ({"grant_type": "client_credentials", "scope": 'a"'}, basic("a:b"), "invalid_scope", 400),
    ],
)
def test_refusals(form: dict[str, str], authorization: str | None, error: str, status: int) -> None:
    refusal = refused(lambda: token_request(form, authorization))
    assert (refusal.error, refusal.status) == (error, status)
    assert refusal.body() == {"error": error, "error_description": refusal.description}
    if status == 401:
        assert refusal.headers["WWW-Authenticate"].startswith("Basic ")


def test_scopes_default_to_all_held_and_more_is_refused() -> None:
    held = {"identity:read", "orders:read"}
    assert granted_scopes(held, None) == ["identity:read", "orders:read"]
    assert granted_scopes(held, parse_scope("orders:read")) == ["orders:read"]
    assert refused(lambda: granted_scopes(held, frozenset({"orders:write"}))).error == (
        "invalid_scope"
    )


def test_windows_are_aligned_and_retry_after_counts_to_the_end() -> None:
    now = datetime(2026, 1, 1, 12, 0, 42, 500_000, tzinfo=UTC)
    minute = timedelta(minutes=1)
    assert window_start(now, minute) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after(now, minute) == 18
    assert retry_after(datetime(2026, 1, 1, 12, 0, 59, 999_000, tzinfo=UTC), minute) == 1
