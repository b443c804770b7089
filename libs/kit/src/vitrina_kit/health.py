"""Liveness and readiness, the same in every service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from http import HTTPStatus
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from vitrina_kit import db, kafka

health_router = APIRouter(prefix="/health", tags=["health"])

_CHECK_TIMEOUT_SECONDS = 3.0


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


@health_router.get("/live", response_model=Liveness)
async def live() -> Liveness:
    """The process is up and serving; says nothing about its dependencies."""
    return Liveness()


@health_router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(request: Request) -> JSONResponse:
    """Ready when the service's database and the Kafka broker both answer."""
    settings = request.app.state.settings
    database, broker = await asyncio.gather(
        _check(db.ping(request.app.state.engine)),
        _check(kafka.ping(settings.kafka_bootstrap_servers)),
    )
    checks = {"database": database, "broker": broker}
    ok = all(result == "ok" for result in checks.values())
    body = Readiness(status="ready" if ok else "not_ready", checks=checks)
    return JSONResponse(
        body.model_dump(), status_code=HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
    )


async def _check(probe: Awaitable[None]) -> str:
    try:
        await asyncio.wait_for(probe, timeout=_CHECK_TIMEOUT_SECONDS)
    except Exception as error:
        return f"failed: {type(error).__name__}"
    return "ok"
