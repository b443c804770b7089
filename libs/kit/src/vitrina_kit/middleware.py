"""ASGI middleware every Vitrina API runs: request body limit, correlation ids, request metrics.

Both are pure ASGI (no ``BaseHTTPMiddleware``) so they neither buffer bodies nor break
streaming, and the body limit holds even when a client lies about or omits Content-Length.
"""

from __future__ import annotations

import logging
import time
import uuid
from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitrina_kit import context
from vitrina_kit.metrics import (
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS,
    METRICS_PATH,
    route_template,
)
from vitrina_kit.problems import problem_response

CORRELATION_HEADER = "x-correlation-id"

logger = logging.getLogger("vitrina.http")
_MAX_CORRELATION_ID_LENGTH = 128
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class BodySizeLimitMiddleware:
    """Answer 413 problem+json to a request body larger than ``max_bytes``.

    A declared Content-Length is checked up front (the server enforces that framing); a body
    without one (chunked) is read up to the limit before the app sees any of it.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return

        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; let the app see the disconnect
            body.extend(message.get("body", b""))
            if len(body) > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            code="request_too_large",
            title="Request body too large",
            detail=f"The body must not exceed {self.max_bytes} bytes.",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)


class CorrelationIdMiddleware:
    """Take the caller's ``X-Correlation-Id`` (or make one), bind it for the request, and log
    one line per request with its outcome (health probes only at debug level)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        correlation = raw if _is_acceptable(raw) else str(uuid.uuid4())

        status = HTTPStatus.INTERNAL_SERVER_ERROR

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.encode(), correlation.encode()))
                message["headers"] = headers
            await send(message)

        path = scope.get("path", "")
        started = time.perf_counter()
        with context.bound(correlation=correlation):
            try:
                await self.app(scope, receive, send_with_header)
            finally:
                logger.log(
                    logging.DEBUG if path.startswith("/health/") else logging.INFO,
                    "request handled",
                    extra={
                        "http_method": scope.get("method"),
                        "http_path": path,
                        "http_status": int(status),
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )


class HttpMetricsMiddleware:
    """Count and time every request by route template (``/orders/{order_id}``, not the path:
    bounded series) and status; requests no route matched share the route ``unmatched``.
    Scrapes of ``/metrics`` are left out of what they report."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        status = HTTPStatus.INTERNAL_SERVER_ERROR  # unless a response starts

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            method = scope.get("method", "")
            method = method if method in _KNOWN_METHODS else "OTHER"  # a client's word
            route = route_template(scope)
            HTTP_REQUEST_DURATION.labels(self.service, method, route).observe(
                time.perf_counter() - started
            )
            HTTP_REQUESTS.labels(self.service, method, route, str(int(status))).inc()


def _is_acceptable(value: str) -> bool:
    # A client-chosen id ends up in logs and events: keep it short and printable.
    return 0 < len(value) <= _MAX_CORRELATION_ID_LENGTH and value.isprintable()
