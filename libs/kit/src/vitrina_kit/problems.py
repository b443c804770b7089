"""RFC 9457 problem details: one shape for every error every Vitrina API returns.

Domain code raises a :class:`DomainError` subclass that knows its status and a human message;
:func:`install_problem_handlers` renders it, FastAPI's validation errors, unknown routes and
unexpected crashes the same way, so a client parses exactly one error format.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://vitrina.dev/problems/"

logger = logging.getLogger(__name__)


class InvalidParam(BaseModel):
    """One offending input: where it is and what is wrong with it."""

    name: str = Field(description="Dotted location, e.g. body.plans.0.unit_price")
    reason: str


class Problem(BaseModel):
    """The problem+json body (RFC 9457), with Vitrina's extension members."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI identifying the problem type")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str = Field(description="Stable machine-readable problem code, e.g. invalid_request")
    invalid_params: list[InvalidParam] | None = Field(
        default=None, alias="invalid-params", serialization_alias="invalid-params"
    )


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    invalid_params: Sequence[InvalidParam] | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "code": code,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if invalid_params:
        body["invalid-params"] = [p.model_dump() for p in invalid_params]
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


class DomainError(Exception):
    """Base of every error a service raises on purpose.

    Subclasses set ``status``, ``code`` and ``title``; the instance carries the ``detail`` a
    person can act on, e.g. ``ProductNotFound(product_id)``.
    """

    status: ClassVar[int] = HTTPStatus.BAD_REQUEST
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions
        self.headers: dict[str, str] | None = None


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT
    code = "conflict"
    title = "Conflict"


class InvalidStateTransition(Conflict):
    code = "invalid_state_transition"
    title = "The resource is not in a state that allows this"


class UnprocessableEntity(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "unprocessable_entity"
    title = "The request is well-formed but cannot be carried out"


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    params = [
        InvalidParam(name=_location(error.get("loc", ())), reason=str(error.get("msg", "")))
        for error in exc.errors()
    ]
    return problem_response(
        status=HTTPStatus.UNPROCESSABLE_ENTITY,
        code="invalid_request",
        title="The request is not valid",
        detail=f"{len(params)} invalid parameter(s)",
        instance=request.url.path,
        invalid_params=params,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error of ``app`` as problem+json."""

    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extensions,
        )

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _validation_problem(request, exc)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        status = HTTPStatus(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(
            status=status,
            code=status.name.lower(),
            title=status.phrase,
            detail=detail if detail != status.phrase else None,
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # The traceback goes to the log, never to the client.
        logger.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(
            status=HTTPStatus.INTERNAL_SERVER_ERROR,
            code="internal_error",
            title="Internal server error",
            instance=request.url.path,
        )

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_CONTENT_TYPE: {}}, "description": phrase}
    for status, phrase in (
        (400, "Bad request"),
        (401, "Missing or invalid access token"),
        (403, "The access token lacks a needed scope"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Request body too large"),
        (415, "Unsupported media type"),
        (422, "Invalid request"),
    )
}
"""OpenAPI ``responses=`` for routers, so the documented errors match what is returned."""
