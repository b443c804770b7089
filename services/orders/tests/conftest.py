from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.catalog.projection import apply_product
from orders.main import SERVICE
from orders.organizations.projection import apply_organization
from orders.settings import OrdersSettings
from orders.subscriptions import reactions
from vitrina_contracts.events.billing import InvoiceDocument, InvoicePaid
from vitrina_contracts.events.catalog import PlanSnapshot, ProductPublished, ProductSnapshot
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_contracts.layout import event_schema_path
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.db import transaction
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, migrated_database
from vitrina_kit.testing.database import query


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return migrated_database(make_database, SERVICE)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url, pool_size=2)
    yield db.create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def client(database_url: str, token_issuer: TestIssuer) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(
        SERVICE, OrdersSettings(database_url=database_url), key_source=token_issuer.key_source
    )
    async with app_client(app) as client:
        # A business's client, the usual reader of what can be ordered.
        client.headers.update(token_issuer.headers(uuid.uuid4(), OrganizationKind.BUSINESS))
        yield client


@pytest.fixture
def customer_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def customer(token_issuer: TestIssuer, customer_id: uuid.UUID) -> dict[str, str]:
    """Headers of the business's client (its organization is not seeded: see ``buyer``)."""
    return token_issuer.headers(customer_id, OrganizationKind.BUSINESS)


@pytest.fixture
def other_customer(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(uuid.uuid4(), OrganizationKind.BUSINESS)


@pytest.fixture
def partner_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def partner(token_issuer: TestIssuer, partner_id: uuid.UUID) -> dict[str, str]:
    return token_issuer.headers(partner_id, OrganizationKind.PARTNER)


@pytest.fixture
def operator(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.headers(uuid.uuid4(), OrganizationKind.OPERATOR)


class Seed:
    """Test data: what identity and the catalog would have told orders, applied through the
    projections' own functions; and billing's invoices, for the reactions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def buyer(
        self,
        *,
        organization_id: uuid.UUID | None = None,
        version: int = 1,
        **changes: Any,
    ) -> uuid.UUID:
        """An active business with complete requisites (the contract's ООО «Ромашка»)."""
        organization_id = organization_id or uuid.uuid4()
        example = OrganizationUpdated.example().organization
        snapshot = example.model_copy(update={"organization_id": organization_id, **changes})
        async with transaction(self.sessions) as session:
            await apply_organization(session, snapshot, version=version)
        return organization_id

    @staticmethod
    def plan(**overrides: Any) -> PlanSnapshot:
        """A public monthly plan per seat, 1 to 100 seats, 500 ₽ a seat, no trial."""
        values: dict[str, Any] = {
            "plan_id": uuid.uuid4(),
            "code": f"plan-{uuid.uuid4().hex[:6]}",
            "name": "Стандарт",
            "billing_period": "month",
            "pricing_unit": "seat",
            "unit_price": Decimal("500.00"),
            "vat_mode": "standard",
            "min_quantity": 1,
            "max_quantity": 100,
            "trial_days": 0,
            "public": True,
        }
        return PlanSnapshot(**(values | overrides))

    async def product(
        self,
        *,
        partner_id: uuid.UUID | None = None,
        plans: tuple[PlanSnapshot, ...] | None = None,
        status: str = "published",
        version: int = 1,
        product_id: uuid.UUID | None = None,
    ) -> ProductSnapshot:
        """A product the catalog published (or retired), with its plans, in orders' projection."""
        example = ProductPublished.example().product
        product = example.model_copy(
            update={
                "product_id": product_id or uuid.uuid4(),
                "partner_id": partner_id or uuid.uuid4(),
                "slug": f"product-{uuid.uuid4().hex[:8]}",
                "status": status,
                "version": version,
                "plans": plans if plans is not None else (self.plan(), self.plan(name="Про")),
            }
        )
        async with transaction(self.sessions) as session:
            await apply_product(session, product)
        return product

    @staticmethod
    def invoice(
        *subscription_ids: uuid.UUID, due_on: date | None = None, number: str | None = None
    ) -> InvoiceDocument:
        """Billing's invoice for payment with one line per subscription (totals kept consistent)."""
        example = InvoicePaid.example().invoice
        line = example.lines[0]
        lines = tuple(
            line.model_copy(update={"line_no": no, "subscription_id": subscription_id})
            for no, subscription_id in enumerate(subscription_ids, start=1)
        )
        count = len(lines)
        return example.model_copy(
            update={
                "document_id": uuid.uuid4(),
                "number": number or f"СЧ-{uuid.uuid4().hex[:6]}",
                "due_on": due_on or date.today() + timedelta(days=5),
                "lines": lines,
                "amount_net": line.amount_net * count,
                "vat_amount": line.vat_amount * count,
                "amount_total": line.amount_total * count,
            }
        )

    async def paid(self, *subscription_ids: uuid.UUID, at: datetime | None = None) -> None:
        """Billing's word that the first invoice of these subscriptions is paid."""
        async with transaction(self.sessions) as session:
            await reactions.invoice_paid(
                session, self.invoice(*subscription_ids), at=at or datetime.now(UTC)
            )


@pytest.fixture
def seed(sessions: async_sessionmaker[AsyncSession]) -> Seed:
    return Seed(sessions)


CONTRACTS = Path(__file__).parents[3] / "contracts"


class Outbox:
    """The events orders wrote to its outbox, each checked against its contract's JSON Schema
    (what the relay would publish, byte for byte)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    async def events(self, *, subject: uuid.UUID | None = None) -> list[dict[str, Any]]:
        rows = await query(
            self.database_url,
            "SELECT payload FROM outbox_messages"
            " WHERE CAST(:subject AS text) IS NULL OR message_key = CAST(:subject AS text)"
            " ORDER BY id",
            subject=None if subject is None else str(subject),
        )
        envelopes = [json.loads(row.payload) for row in rows]
        for envelope in envelopes:
            schema = json.loads((CONTRACTS / event_schema_path(envelope["type"])).read_text())
            validator = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            assert [error.message for error in validator.iter_errors(envelope)] == []
        return envelopes

    async def types(self, *, subject: uuid.UUID | None = None) -> list[str]:
        """The events' types without the ``ru.vitrina.orders.`` prefix, in order."""
        return [
            envelope["type"].removeprefix("ru.vitrina.orders.")
            for envelope in await self.events(subject=subject)
        ]


@pytest.fixture
def outbox(database_url: str) -> Outbox:
    return Outbox(database_url)
