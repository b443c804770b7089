"""The HTTP side every service shares: problem+json errors, body limits, Idempotency-Key."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from vitrina_kit.api import RequestModel, ResponseModel, SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.problems import Conflict
from vitrina_kit.service import Service, build_app
from vitrina_kit.settings import ServiceSettings
from vitrina_kit.testing import TestIssuer, app_client

effects = Table(
    "effects", MetaData(), Column("id", Integer, primary_key=True), Column("note", Text)
)


class NoteCreate(RequestModel):
    note: str = Field(min_length=1, max_length=50)
    copies: int = Field(default=1, ge=1, le=3)


class NoteRead(ResponseModel):
    id: int
    note: str


class NoteRefused(Conflict):
    code = "note_refused"
    title = "This note is refused"


router = APIRouter()


@router.post("/notes", status_code=201, response_model=NoteRead)
async def create_note(
    body: NoteCreate,
    caller: Annotated[Caller, requires()],
    session: SessionDep,
    idempotency: IdempotencyDep,
):  # type: ignore[no-untyped-def]
    async def create() -> NoteRead:
        if body.note == "refuse":
            raise NoteRefused("The note 'refuse' is refused.", hint="try another")
        await asyncio.sleep(0.2)  # long enough for a concurrent duplicate to arrive
        row_id = await session.scalar(
            insert(effects).values(note=body.note).returning(effects.c.id)
        )
        return NoteRead(id=row_id or 0, note=body.note)

    return await idempotency.respond(
        create, response_model=NoteRead, location=lambda note: f"/notes/{note.id}"
    )


@router.get("/crash")
async def crash() -> None:
    raise RuntimeError("secret internals")


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(
        service_name="kit-test",
        database_url=engine.url.render_as_string(hide_password=False),
        max_request_body_bytes=2048,
    )
    service = Service(
        name="kit-test",
        title="Kit test",
        description="",
        settings=lambda: settings,
        routers=[router],
        migrations=Path("."),
        metadata=MetaData(),
    )
    async with app_client(build_app(service, settings, key_source=ISSUER.key_source)) as client:
        yield client


ISSUER = TestIssuer()
ORG = ISSUER.headers(uuid.uuid4(), "partner")


def headers(key: str | None = None) -> dict[str, str]:
    return {**ORG, "Idempotency-Key": key or str(uuid.uuid4())}


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(effects)) or 0)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert str(body["type"]).startswith("https://vitrina.dev/problems/")
    assert body["title"]
    return body


async def test_unknown_fields_are_a_problem_and_change_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post("/notes", json={"note": "a", "admin": True}, headers=headers())
    body = assert_problem(response, 422, "invalid_request")
    assert body["invalid-params"] == [
        {"name": "body.admin", "reason": "Extra inputs are not permitted"}
    ]
    assert await count(engine) == 0


async def test_wrong_types_are_a_problem_naming_each_field(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post("/notes", json={"note": 5, "copies": "many"}, headers=headers())
    body = assert_problem(response, 422, "invalid_request")
    names = {p["name"] for p in body["invalid-params"]}  # type: ignore[attr-defined]
    assert names == {"body.note", "body.copies"}
    assert await count(engine) == 0


async def test_malformed_json_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/notes", content=b'{"note": ', headers={**headers(), "content-type": "application/json"}
    )
    body = assert_problem(response, 422, "invalid_request")
    assert body["invalid-params"], "the problem says where the JSON broke"


async def test_an_oversized_body_is_refused_before_the_route_runs(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    big = {"note": "x" * 5000}
    assert_problem(
        await client.post("/notes", json=big, headers=headers()), 413, "request_too_large"
    )

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit counts bytes read
        for _ in range(10):
            yield b'{"note": "' + b"x" * 500

    response = await client.post(
        "/notes", content=chunks(), headers={**headers(), "content-type": "application/json"}
    )
    assert_problem(response, 413, "request_too_large")
    assert await count(engine) == 0


async def test_domain_errors_carry_their_status_and_extensions(client: httpx.AsyncClient) -> None:
    response = await client.post("/notes", json={"note": "refuse"}, headers=headers())
    body = assert_problem(response, 409, "note_refused")
    assert body["detail"] == "The note 'refuse' is refused."
    assert body["hint"] == "try another"
    assert body["instance"] == "/notes"


async def test_unknown_routes_methods_and_crashes_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/nowhere"), 404, "not_found")
    assert_problem(await client.delete("/notes"), 405, "method_not_allowed")
    crash = assert_problem(await client.get("/crash"), 500, "internal_error")
    assert "secret" not in str(crash)


async def test_the_same_key_and_body_replays_the_first_response(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    first = await client.post("/notes", json={"note": "a"}, headers=headers("key-1"))
    # Same JSON, other formatting and key order: still the same request.
    again = await client.post(
        "/notes",
        content=b'{ "note" : "a" }',
        headers={**headers("key-1"), "content-type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"] == f"/notes/{first.json()['id']}"
    assert again.headers["idempotent-replayed"] == "true"
    assert await count(engine) == 1


async def test_the_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await client.post("/notes", json={"note": "a"}, headers=headers("key-2"))
    response = await client.post("/notes", json={"note": "b"}, headers=headers("key-2"))
    assert_problem(response, 422, "idempotency_key_reused")
    assert await count(engine) == 1


async def test_keys_belong_to_their_caller(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    other = {**ISSUER.headers(uuid.uuid4(), "partner"), "Idempotency-Key": "shared"}
    await client.post("/notes", json={"note": "a"}, headers={**ORG, "Idempotency-Key": "shared"})
    response = await client.post("/notes", json={"note": "a"}, headers=other)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert await count(engine) == 2


async def test_concurrent_requests_with_one_key_create_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    responses = await asyncio.gather(
        *(client.post("/notes", json={"note": "c"}, headers=headers("key-3")) for _ in range(5))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count(engine) == 1


async def test_a_failed_creation_releases_its_key(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    refused = await client.post("/notes", json={"note": "refuse"}, headers=headers("key-4"))
    assert refused.status_code == 409
    retried = await client.post("/notes", json={"note": "refuse"}, headers=headers("key-4"))
    assert retried.status_code == 409
    assert "idempotent-replayed" not in retried.headers


async def test_a_missing_or_malformed_key_is_a_problem(client: httpx.AsyncClient) -> None:
    missing = await client.post("/notes", json={"note": "a"}, headers=ORG)
    body = assert_problem(missing, 422, "invalid_request")
    assert body["invalid-params"][0]["name"] == "header.idempotency-key"  # type: ignore[index]
    bad = await client.post("/notes", json={"note": "a"}, headers={**ORG, "Idempotency-Key": "a b"})
    assert_problem(bad, 422, "invalid_request")


async def test_liveness_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    # The database answers; no broker was given to this app.
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["broker"].startswith("failed")


async def test_the_correlation_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/health/live", headers={"X-Correlation-Id": "abc-123"})
    assert given.headers["x-correlation-id"] == "abc-123"
    made = await client.get("/health/live")
    assert uuid.UUID(made.headers["x-correlation-id"])
