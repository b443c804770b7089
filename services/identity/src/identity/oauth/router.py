"""The OAuth 2.0 endpoints: token (RFC 6749 §4.4), introspection (RFC 7662), server metadata
(RFC 8414). They speak OAuth's error format, not problem+json, because OAuth clients parse it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from identity.clients.domain import SCOPES
from identity.clock import NowDep
from identity.dependencies import NO_STORE, SettingsDep
from identity.oauth import domain, service
from identity.organizations.service import require_operator
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.db import transaction
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["oauth"])

_OAUTH_ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {"type": "string", "enum": [code.value for code in domain.ErrorCode]},
                    "error_description": {"type": "string"},
                },
            }
        }
    }
}


def _form(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """OpenAPI for a form-encoded body (parsed by hand: OAuth errors, not FastAPI's 422s)."""
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {
            "required": True,
            "content": {domain.FORM_CONTENT_TYPE: {"schema": schema}},
        }
    }


_TOKEN_FORM = _form(
    {
        "grant_type": {"type": "string", "enum": [domain.GRANT_TYPE]},
        "scope": {"type": "string", "description": "Space-separated; default: all it holds."},
        "client_id": {"type": "string", "description": "client_secret_post only"},
        "client_secret": {"type": "string", "description": "client_secret_post only"},
    },
    ["grant_type"],
)
_INTROSPECTION_FORM = _form(
    {"token": {"type": "string"}, "token_type_hint": {"type": "string"}}, ["token"]
)


def _error(error: domain.OAuthError) -> JSONResponse:
    return JSONResponse(
        error.body(), status_code=error.status, headers={**NO_STORE, **error.headers}
    )


@router.post(
    "/oauth/token",
    openapi_extra=_TOKEN_FORM,
    responses={400: _OAUTH_ERROR, 401: _OAUTH_ERROR, 429: _OAUTH_ERROR},
)
async def token(request: Request, settings: SettingsDep, now: NowDep) -> JSONResponse:
    """An access token for an API client (client credentials grant). The client authenticates
    with HTTP Basic (client_secret_basic) or with client_id and client_secret in the form
    (client_secret_post)."""
    sessions = request.app.state.sessions
    # The peer: behind a proxy, only as right as the server's --forwarded-allow-ips makes it.
    address = request.client.host if request.client else "unknown"
    asked: domain.TokenRequest | None = None
    try:
        form = domain.parse_form(request.headers.get("content-type"), await request.body())
        asked = domain.token_request(form, request.headers.get("authorization"))
        await service.check_rate_limits(
            sessions, settings, client_id=asked.credentials.client_id, address=address, now=now
        )
        async with transaction(sessions) as session:
            issued = await service.issue_token(session, settings, asked, now)
    except domain.OAuthError as error:
        # A guessed secret, not a request without any: those count against stricter limits.
        if asked is not None and error.error is domain.ErrorCode.INVALID_CLIENT:
            await service.count_failed_authentication(
                sessions, settings, client_id=asked.credentials.client_id, address=address, now=now
            )
        return _error(error)
    body = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }
    return JSONResponse(body, headers=NO_STORE)


# The caller's token is checked like any API's, so those refusals are problem+json.
@router.post(
    "/oauth/introspect",
    openapi_extra=_INTROSPECTION_FORM,
    responses={400: _OAUTH_ERROR, 401: PROBLEM_RESPONSES[401], 403: PROBLEM_RESPONSES[403]},
)
async def introspect(
    request: Request,
    caller: Annotated[Caller, requires("identity:admin")],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> JSONResponse:
    """Is this token active, and what does it carry (RFC 7662). For the operator only."""
    require_operator(caller)
    try:
        form = domain.parse_form(request.headers.get("content-type"), await request.body())
        token = form.get("token")
        if token is None:
            raise domain.invalid_request("The token parameter is missing.")
    except domain.OAuthError as error:
        return _error(error)
    return JSONResponse(await service.introspect(session, settings, token, now), headers=NO_STORE)


@router.get("/.well-known/oauth-authorization-server")
async def metadata(settings: SettingsDep) -> dict[str, Any]:
    """Authorization server metadata (RFC 8414)."""
    issuer = settings.auth_issuer.rstrip("/")
    return {
        "issuer": settings.auth_issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "grant_types_supported": [domain.GRANT_TYPE],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "scopes_supported": sorted(SCOPES),
        "service_documentation": f"{issuer}/docs",
    }
