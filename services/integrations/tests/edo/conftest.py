from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from vitrina_simulators.edo_operator import Client, SimulatorConfig, running

from integrations.main import SERVICE
from vitrina_contracts.layout import event_schema_path
from vitrina_kit.testing import migrated_database
from vitrina_kit.testing.database import query

OPERATOR_BOX = "2BM-7704123450-770401001-000000000000001"
BUYER_BOX = "2BM-5012345672-501201001-000000000000042"
CONTRACTS = Path(__file__).parents[4] / "contracts"


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
def edo_simulator() -> Iterator[str]:
    """The EDO operator simulator as a real HTTP server, delivering after 0.2 s."""
    config = SimulatorConfig(
        clients=[
            Client("vitrina", "operator-secret", OPERATOR_BOX),
            Client("romashka", "buyer-secret", BUYER_BOX),
        ],
        delivery_delay_seconds=0.2,
    )
    with running(config) as url:
        yield url


class Outbox:
    """The events integrations wrote to its outbox, each checked against its contract's JSON
    Schema (what the relay publishes, byte for byte)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    async def events(self, *, subject: uuid.UUID) -> list[dict[str, Any]]:
        rows = await query(
            self.database_url,
            "SELECT payload FROM outbox_messages WHERE message_key = :subject ORDER BY id",
            subject=str(subject),
        )
        envelopes = [json.loads(row.payload) for row in rows]
        for envelope in envelopes:
            schema = json.loads((CONTRACTS / event_schema_path(envelope["type"])).read_text())
            validator = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            assert [error.message for error in validator.iter_errors(envelope)] == []
        return envelopes

    async def types(self, *, subject: uuid.UUID) -> list[str]:
        return [
            envelope["type"].removeprefix("ru.vitrina.integrations.")
            for envelope in await self.events(subject=subject)
        ]


@pytest.fixture
def outbox(database_url: str) -> Outbox:
    return Outbox(database_url)
