from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.main import SERVICE
from billing.messaging.handlers import HANDLERS
from billing.settings import BillingSettings
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.catalog import PlanSnapshot, ProductPublished, ProductSnapshot
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_contracts.events.integrations import BankPayment, BankPaymentImported
from vitrina_contracts.events.orders import SubscriptionCreated, SubscriptionSnapshot
from vitrina_contracts.layout import event_schema_path
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.consumer import Received
from vitrina_kit.db import transaction
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, migrated_database
from vitrina_kit.testing.database import query

CONTRACTS = Path(__file__).parents[3] / "contracts"


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url, pool_size=5)
    yield db.create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def client(database_url: str, token_issuer: TestIssuer) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(
        SERVICE, BillingSettings(database_url=database_url), key_source=token_issuer.key_source
    )
    async with app_client(app) as client:
        yield client


@pytest.fixture
def operator(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR)


def at(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=UTC)


_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def new_inn() -> str:
    """A fresh organization INN (ten digits, a valid check digit): a payer is found by it."""
    head = f"77{uuid.uuid4().int % 10**7:07d}"
    check = sum(int(d) * w for d, w in zip(head, _INN10_WEIGHTS, strict=True)) % 11 % 10
    return f"{head}{check}"


class World:
    """What identity, the catalog and orders tell billing, delivered through billing's own
    event map in the consumer's way (one transaction per event)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], database_url: str) -> None:
        self.sessions = sessions
        self.database_url = database_url
        self.versions: dict[uuid.UUID, int] = {}
        self.inns: dict[uuid.UUID, str] = {}

    async def deliver(self, event: Event, *, subject: uuid.UUID, on: date) -> None:
        version = self.versions.get(subject, 0) + 1
        self.versions[subject] = version
        envelope = build_envelope(
            event,
            source="/vitrina/test",
            subject=str(subject),
            aggregate_version=version,
            time=at(on),
        )
        message: Received[Any] = Received(event, envelope, event.topic, 0, 0)
        async with transaction(self.sessions) as session:
            await HANDLERS[type(event)](session, message)

    async def customer(
        self, *, customer_id: uuid.UUID | None = None, inn: str | None = None
    ) -> uuid.UUID:
        customer_id = customer_id or uuid.uuid4()
        organization = OrganizationUpdated.example().organization.model_copy(
            update={"organization_id": customer_id, "inn": inn or new_inn()}
        )
        self.inns[customer_id] = organization.inn
        await self.deliver(
            OrganizationUpdated(organization=organization), subject=customer_id, on=date(2025, 1, 1)
        )
        return customer_id

    async def product(
        self,
        *,
        unit_price: str = "450.00",
        vat_mode: str = "standard",
        period: str = "month",
        partner_id: uuid.UUID | None = None,
    ) -> ProductSnapshot:
        example = ProductPublished.example().product
        plan = PlanSnapshot(
            plan_id=uuid.uuid4(),
            code="standard",
            name="Стандарт",
            billing_period=period,  # type: ignore[arg-type]
            pricing_unit="seat",
            unit_price=Decimal(unit_price),
            vat_mode=vat_mode,  # type: ignore[arg-type]
        )
        product = example.model_copy(
            update={
                "product_id": uuid.uuid4(),
                "plans": (plan,),
                "partner_id": partner_id or example.partner_id,
            }
        )
        await self.deliver(
            ProductPublished(product=product), subject=product.product_id, on=date(2025, 1, 1)
        )
        return product

    @staticmethod
    def snapshot(
        customer_id: uuid.UUID, product: ProductSnapshot, *, starts_on: date, **changes: Any
    ) -> SubscriptionSnapshot:
        values: dict[str, Any] = {
            "subscription_id": uuid.uuid4(),
            "customer_id": customer_id,
            "partner_id": product.partner_id,
            "product_id": product.product_id,
            "plan_id": product.plans[0].plan_id,
            "quantity": 10,
            "period_anchor": starts_on,
            "status": "pending",
            "effective_at": at(starts_on),
        }
        return SubscriptionSnapshot(**(values | changes))

    async def subscribe(
        self, customer_id: uuid.UUID, product: ProductSnapshot, *, starts_on: date, **changes: Any
    ) -> SubscriptionSnapshot:
        snapshot = self.snapshot(customer_id, product, starts_on=starts_on, **changes)
        await self.deliver(
            SubscriptionCreated(subscription=snapshot),
            subject=snapshot.subscription_id,
            on=starts_on,
        )
        return snapshot

    async def pay(
        self,
        payer: uuid.UUID | None,
        amount: str,
        purpose: str,
        *,
        on: date = date(2025, 12, 5),
        number: str | None = None,
        bank_payment_id: uuid.UUID | None = None,
        payer_inn: str | None = None,
    ) -> BankPayment:
        """A bank statement line from ``payer`` (its INN), as integrations imports it."""
        line = BankPaymentImported.example().bank_payment.model_copy(
            update={
                "bank_payment_id": bank_payment_id or uuid.uuid4(),
                "number": number or str(uuid.uuid4().int % 10**6),
                "paid_on": on,
                "amount": Decimal(amount),
                "payer_inn": payer_inn or (self.inns[payer] if payer else new_inn()),
                "payer_kpp": None,
                "purpose": purpose,
            }
        )
        await self.deliver(
            BankPaymentImported(bank_payment=line), subject=line.bank_payment_id, on=on
        )
        return line


@pytest.fixture
def world(sessions: async_sessionmaker[AsyncSession], database_url: str) -> World:
    return World(sessions, database_url)


class Outbox:
    """The events billing wrote to its outbox, each checked against its contract's JSON Schema."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    async def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        rows = await query(self.database_url, "SELECT payload FROM outbox_messages ORDER BY id")
        envelopes = [json.loads(row.payload) for row in rows]
        for envelope in envelopes:
            schema = json.loads((CONTRACTS / event_schema_path(envelope["type"])).read_text())
            validator = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            assert [error.message for error in validator.iter_errors(envelope)] == []
        if kind is not None:
            envelopes = [e for e in envelopes if e["type"] == f"ru.vitrina.billing.{kind}"]
        return envelopes


@pytest.fixture
def outbox(database_url: str) -> Outbox:
    return Outbox(database_url)
