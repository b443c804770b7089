"""A service process exactly as ``python -m <service> <command>`` runs it, but without the kit's
HTTP metrics middleware: ``python bench/uninstrumented.py orders api``.

The kit has no setting that switches the request metrics off (tracing has
``OTEL_SDK_DISABLED``), so the instrumentation benchmark swaps the middleware for a passthrough
here, before the app is built, to measure what it costs. Nothing else changes.
"""

from __future__ import annotations

import runpy
import sys

from starlette.types import ASGIApp, Receive, Scope, Send

from vitrina_kit import service


class Passthrough:
    """Where ``HttpMetricsMiddleware`` was: hands every request on untouched."""

    def __init__(self, app: ASGIApp, **_: object) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


if __name__ == "__main__":
    service.HttpMetricsMiddleware = Passthrough  # type: ignore[attr-defined,assignment]
    package = sys.argv.pop(1)  # the service's own command line parses the rest
    runpy.run_module(package, run_name="__main__", alter_sys=True)
