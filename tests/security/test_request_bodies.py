"""Hostile request bodies: too large (declared or chunked) → 413; nested deeper than any parser
recurses → 400; both problem+json, never a 500, a RecursionError or a hang."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from vitrina_kit.auth import OrganizationKind
from vitrina_kit.problems import PROBLEM_CONTENT_TYPE
from vitrina_kit.testing import TestIssuer

LIMIT = 64 * 1024
DEPTH = 100_000
NESTED_ARRAYS = b"[" * DEPTH + b"]" * DEPTH
NESTED_OBJECTS = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH

# A route of each service that reads a JSON (or, for identity's token endpoint, form) body.
POST_ROUTES = {
    "identity": "/organizations",
    "catalog": "/products",
    "orders": "/orders",
    "billing": "/billing-runs",
    "integrations": "/webhooks/endpoints",
}


def operator(issuer: TestIssuer) -> dict[str, str]:
    return {
        **issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR),
        "Idempotency-Key": str(uuid.uuid4()),
    }


def assert_problem(response: Any, status: int) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE


@pytest.mark.parametrize("name", list(POST_ROUTES))
async def test_oversized_bodies_are_413_with_or_without_content_length(
    name: str, open_app: Any, token_issuer: TestIssuer
) -> None:
    body = b'{"name": "' + b"x" * LIMIT + b'"}'

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    async with open_app(name, max_request_body_bytes=LIMIT) as client:
        declared = await client.post(
            POST_ROUTES[name], content=body, headers=operator(token_issuer)
        )
        streamed = await client.post(
            POST_ROUTES[name], content=chunked(), headers=operator(token_issuer)
        )
        token = await client.post("/oauth/token", content=chunked())

    assert "content-length" not in streamed.request.headers
    for response in (declared, streamed):
        assert_problem(response, 413)
        assert response.json()["code"] == "request_too_large"
    assert token.status_code in (404, 413)  # only identity has the route; it is limited too


@pytest.mark.parametrize("name", list(POST_ROUTES))
@pytest.mark.parametrize("body", [NESTED_ARRAYS, NESTED_OBJECTS], ids=["arrays", "objects"])
async def test_deeply_nested_json_is_a_client_error(
    name: str, body: bytes, open_app: Any, token_issuer: TestIssuer
) -> None:
    async with open_app(name) as client:
        async with asyncio.timeout(10):
            response = await client.post(
                POST_ROUTES[name],
                content=body,
                headers={**operator(token_issuer), "Content-Type": "application/json"},
            )
    assert_problem(response, 400)


async def test_deep_nesting_where_a_route_or_the_kit_parses_json_itself(
    open_app: Any, token_issuer: TestIssuer
) -> None:
    """Places that parse JSON by hand: the Idempotency-Key fingerprint of a raw-body upload,
    and the opaque cursors of listings (base64 of JSON). Each raised RecursionError → 500."""
    # 20,000 levels: deep enough for any recursive parser, short enough for a URL.
    nested_cursor = base64.urlsafe_b64encode(b"[" * 20_000 + b"]" * 20_000).decode()
    async with open_app("integrations") as client:
        upload = await client.post(
            "/bank-statements",
            content=NESTED_ARRAYS,
            headers={**operator(token_issuer), "Content-Type": "application/json"},
        )
    async with open_app("catalog") as client:
        kit_cursor = await client.get(
            "/products", params={"cursor": nested_cursor}, headers=operator(token_issuer)
        )
        storefront_cursor = await client.get(
            "/storefront/products", params={"cursor": nested_cursor}
        )

    for response in (upload, kit_cursor, storefront_cursor):
        assert 400 <= response.status_code < 500, response.text[:500]
        assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
