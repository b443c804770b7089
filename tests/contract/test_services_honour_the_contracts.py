"""Every consumer accepts the contract's examples; every produced event matches its schema.

Runs each service's real event map over its real, migrated database: an example the contract
publishes must be applied without error (and a second delivery must change nothing).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from jsonschema import Draft202012Validator
from sqlalchemy import func, select, text

import billing.main
import catalog.main
import identity.main
import integrations.main
import orders.main
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.layout import event_schema_path
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.consumer import ConsumerRunner, InboxMessage
from vitrina_kit.service import Service, build_app
from vitrina_kit.testing import TestIssuer, app_client, migrated_database

CONTRACTS = Path(__file__).parents[2] / "contracts"
SERVICES: list[Service] = [
    identity.main.SERVICE,
    catalog.main.SERVICE,
    orders.main.SERVICE,
    billing.main.SERVICE,
    integrations.main.SERVICE,
]
CONSUMED = [
    pytest.param(service, event_class, id=f"{service.name}<-{event_class.event_type}")
    for service in SERVICES
    for event_class in service.handlers
]


def schema_validator(event_type: str) -> Draft202012Validator:
    schema = json.loads((CONTRACTS / event_schema_path(event_type)).read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


class _NoProducer:
    """Dead letters would mean the example was refused; fail loudly instead of sending one."""

    async def send(self, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"the consumer dead-lettered a contract example: {kwargs}")


@pytest.mark.parametrize(("service", "event_class"), CONSUMED)
async def test_every_consumer_accepts_the_contracts_example(
    service: Service, event_class: type[Event], make_database: Callable[[str], str]
) -> None:
    engine = db.create_engine(migrated_database(make_database, service), pool_size=2)
    sessions = db.create_session_factory(engine)
    runner = ConsumerRunner(
        group_id=service.name,
        bootstrap_servers="unused:9092",
        sessions=sessions,
        handlers=service.handlers,
        producer=_NoProducer(),  # type: ignore[arg-type]
        max_attempts=1,
    )
    example = event_class.example()
    value = build_envelope(
        example,
        source=f"/vitrina/{event_class.topic.split('.')[0]}",
        subject=example.aggregate_id(),
        aggregate_version=1,
    ).to_json_bytes()
    record = ConsumerRecord(
        topic=event_class.topic,
        partition=0,
        offset=0,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=(),
    )
    try:
        await runner.process(record)
        await runner.process(record)  # redelivered: nothing more happens
        async with sessions() as session:
            applied = await session.scalar(select(func.count()).select_from(InboxMessage))
    finally:
        await engine.dispose()
    assert applied == 1


async def test_catalog_publishes_events_that_match_the_contract(
    make_database: Callable[[str], str], token_issuer: TestIssuer
) -> None:
    url = migrated_database(make_database, catalog.main.SERVICE)
    partner = token_issuer.headers(uuid.uuid4(), OrganizationKind.PARTNER)
    operator = token_issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR)
    body = {
        "slug": "antivirus",
        "name": "Антивирус для бизнеса",
        "category": "security",
        "plans": [
            {
                "code": "pc",
                "name": "За ПК",
                "pricing_unit": "unit",
                "unit_price": "199.90",
                "vat_mode": "exempt",
            }
        ],
    }
    settings = catalog.main.CatalogSettings(database_url=url)
    app = build_app(catalog.main.SERVICE, settings, key_source=token_issuer.key_source)
    async with app_client(app) as client:
        created = await client.post(
            "/products", json=body, headers={**partner, "Idempotency-Key": "contract"}
        )
        product = f"/products/{created.json()['id']}"
        assert (await client.post(f"{product}/submit", headers=partner)).is_success
        assert (await client.post(f"{product}/approve", headers=operator)).is_success
        opened = await client.patch(product, json={"name": "Антивирус Плюс"}, headers=partner)
        assert opened.is_success
        assert (await client.post(f"{product}/submit", headers=partner)).is_success
        assert (await client.post(f"{product}/approve", headers=operator)).is_success
        assert (await client.post(f"{product}/retire", headers=partner)).is_success

    engine = db.create_engine(url, pool_size=1)
    async with engine.connect() as connection:
        query = text("SELECT event_type, payload FROM outbox_messages ORDER BY id")
        rows = (await connection.execute(query)).all()
    await engine.dispose()
    assert [row.event_type for row in rows] == [
        "ru.vitrina.catalog.product.published",
        "ru.vitrina.catalog.product.revised",
        "ru.vitrina.catalog.product.retired",
    ]
    for row in rows:
        errors = list(schema_validator(row.event_type).iter_errors(json.loads(row.payload)))
        assert errors == [], [e.message for e in errors]
