"""The operator's dead letters, listed and replayed over HTTP (real broker and database)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.catalog import ProductPublished
from vitrina_kit.consumer import Received
from vitrina_kit.service import Service, build_app
from vitrina_kit.settings import ServiceSettings
from vitrina_kit.testing import TestIssuer, app_client, read_topic, send_raw, wait_until

effects = Table(
    "effects", MetaData(), Column("id", Integer, primary_key=True), Column("note", Text)
)

TOPIC = ProductPublished.topic
GROUP = "kit-test"  # the service's name is its consumer group
ISSUER = TestIssuer()
OPERATOR = ISSUER.headers(uuid.uuid4(), "operator")


def event_bytes(subject: str) -> bytes:
    return build_envelope(
        ProductPublished.example(), source="/vitrina/catalog", subject=subject, aggregate_version=1
    ).to_json_bytes()


@pytest.fixture
async def client(engine: AsyncEngine, kafka_bootstrap: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(
        service_name=GROUP,
        database_url=engine.url.render_as_string(hide_password=False),
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    service = Service(
        name=GROUP,
        title="Kit test",
        description="",
        settings=lambda: settings,
        routers=[],
        migrations=Path("."),
        metadata=MetaData(),
    )
    async with app_client(build_app(service, settings, key_source=ISSUER.key_source)) as client:
        yield client


async def applied(sessions: async_sessionmaker[AsyncSession], event_id: str) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(effects).where(effects.c.note == event_id)
        )
    return int(found or 0)


async def test_the_operator_lists_a_dead_letter_and_replays_it_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    kafka_bootstrap: str,
    run_consumer: Any,
) -> None:
    broken = True

    async def handler(session: AsyncSession, message: Received[Any]) -> None:
        if broken and message.envelope.subject == "doomed":
            raise RuntimeError("handler bug")
        await session.execute(insert(effects).values(note=str(message.envelope.id)))

    doomed = event_bytes("doomed")
    doomed_id = json.loads(doomed)["id"]
    # Another group's dead letter in the same DLQ: not this service's to see or replay.
    await send_raw(
        kafka_bootstrap,
        TOPIC + ".dlq",
        [event_bytes("theirs")],
        key=b"k",
        headers=[("vitrina-dlq-consumer-group", b"someone-else")],
    )
    await send_raw(kafka_bootstrap, TOPIC, [doomed], key=b"k")
    shutdown = run_consumer({ProductPublished: handler}, group=GROUP, retry_stages=("500ms",))
    await read_topic(kafka_bootstrap, TOPIC + ".dlq", expected=2)

    listing = await client.get("/ops/dead-letters", params={"topic": TOPIC}, headers=OPERATOR)
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["consumer_group"] == GROUP
    assert body["complete"] is True
    [letter] = body["items"]
    assert letter["event_id"] == doomed_id
    assert letter["event_type"] == ProductPublished.event_type
    assert letter["key"] == "k"
    assert letter["attempts"] == 6  # 3 on the topic, 3 in the one retry stage
    assert letter["error_type"] == "RuntimeError"
    assert "handler bug" in letter["error"]
    assert (letter["original_topic"], letter["original_offset"]) == (TOPIC, 0)
    assert letter["failed_at"]
    assert letter["replayed_at"] is None
    assert await applied(sessions, doomed_id) == 0

    broken = False  # the bug is fixed; the operator replays
    position = {"partition": letter["partition"], "offset": letter["offset"]}
    replay = await client.post(
        "/ops/dead-letters/replay", json={"topic": TOPIC, "offsets": [position]}, headers=OPERATOR
    )
    assert replay.status_code == 200, replay.text
    assert [r["event_id"] for r in replay.json()["replayed"]] == [doomed_id]
    await wait_until(lambda: applied(sessions, doomed_id), message="the replayed event")

    again = await client.post(
        "/ops/dead-letters/replay", json={"topic": TOPIC, "all": True}, headers=OPERATOR
    )
    assert again.status_code == 200, again.text
    assert again.json() == {"replayed": [], "already_replayed": [position], "not_found": []}
    await asyncio.sleep(1)  # had anything been republished, it would be applied by now
    await shutdown()

    assert await applied(sessions, doomed_id) == 1
    # The original and one replay; a second replay would be a third record.
    republished = await read_topic(kafka_bootstrap, TOPIC, expected=3, timeout=2)
    assert [r.value for r in republished] == [doomed, doomed]
    headers = dict(republished[1].headers)
    replayed_from = f"{TOPIC}.dlq/{letter['partition']}/{letter['offset']}"
    assert headers["vitrina-replayed-from"] == replayed_from.encode()
    assert not [n for n in headers if n.startswith(("vitrina-dlq-", "vitrina-retry-"))]
    listing = await client.get("/ops/dead-letters", params={"topic": TOPIC}, headers=OPERATOR)
    assert listing.json()["items"][0]["replayed_at"] is not None


async def test_dead_letters_are_for_the_operator_and_registered_topics(
    client: httpx.AsyncClient,
) -> None:
    partner = ISSUER.headers(uuid.uuid4(), "partner", scopes={"ops:read"})
    assert (await client.get("/ops/dead-letters", params={"topic": TOPIC})).status_code == 401
    listing = await client.get("/ops/dead-letters", params={"topic": TOPIC}, headers=partner)
    assert listing.status_code == 403
    replay = await client.post(
        "/ops/dead-letters/replay", json={"topic": TOPIC, "all": True}, headers=partner
    )
    assert replay.status_code == 403
    unknown = await client.get("/ops/dead-letters", params={"topic": "no.such"}, headers=OPERATOR)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_topic"
    neither = await client.post("/ops/dead-letters/replay", json={"topic": TOPIC}, headers=OPERATOR)
    assert neither.status_code == 422
