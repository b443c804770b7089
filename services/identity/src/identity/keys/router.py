from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from identity.clock import NowDep
from identity.dependencies import SettingsDep
from identity.keys import repository, service
from identity.keys.schemas import KeyList, KeyRead
from identity.organizations.service import require_operator
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["signing keys"], responses=PROBLEM_RESPONSES)


@router.get("/.well-known/jwks.json")
async def jwks(session: SessionDep, settings: SettingsDep, now: NowDep) -> JSONResponse:
    """The public keys access tokens are signed with (RFC 7517): the signing one, the next one
    ahead of its use, and retired ones until their last token has expired."""
    keys = await service.published_keys(session, now)
    return JSONResponse(
        {"keys": keys},
        headers={"Cache-Control": f"public, max-age={settings.jwks_max_age_seconds}"},
    )


@router.get("/keys", response_model=KeyList)
async def list_keys(
    caller: Annotated[Caller, requires("identity:admin")], session: SessionDep, now: NowDep
) -> KeyList:
    """The signing keys in the JWKS and their schedule (never the private parts)."""
    require_operator(caller)
    return KeyList(items=[KeyRead.of(key, now) for key in await repository.live_keys(session, now)])


@router.post("/keys/rotate", status_code=201, response_model=KeyRead)
async def rotate_keys(
    caller: Annotated[Caller, requires("identity:admin")],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> KeyRead:
    """A new signing key: in the JWKS at once, signing from IDENTITY_SIGNING_KEY_PUBLISH_AHEAD_
    SECONDS on; the current key retires then and leaves the JWKS after its last token expired."""
    require_operator(caller)
    return KeyRead.of(await service.rotate(session, settings, now), now)
