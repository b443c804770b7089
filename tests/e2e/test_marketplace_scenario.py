"""The marketplace's demo flow, end to end, every piece real.

Five services as processes (API, consumers and relay each: ``run``), one embedded broker,
PostgreSQL, the EDO operator and 1C simulators, and a partner's provisioning server that
verifies Vitrina's webhook signatures. The story, told in the order it happens:

    A partner is registered by the operator and publishes a virtual PBX with two plans; the
    operator approves it. A business (with its requisites and EDO id) is registered and orders
    10 seats. Billing issues the invoice for payment, which reaches 1C; a bank statement paying
    it is imported; the invoice is paid, the subscription activated, and the partner's
    provisioning endpoint called and acknowledging. Mid-month the business goes to 15 seats:
    a credit note and an extra invoice, paid from the credit and a second payment. The month
    closes: the UPD goes to the EDO operator and the buyer signs it, the sale is posted in 1C,
    the partner's settlement is issued, the next month is invoiced and paid. The business
    cancels at the end of that month, and the final closing document is right to the kopeck.

Time. Orders, billing and integrations read the real clock and let no one start a subscription
in the past, while billing closes only months that are over. So the services live in April 2026
and the test moves their calendar (``vitrina_kit.local.clock``: the wall clock of the
service processes follows a file; nothing in the services is changed or bypassed).

Every amount is computed here again from the plan's price, the days and the VAT rate; every
topic is read from the start, each event validated against ``contracts/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from jsonschema import Draft202012Validator
from prometheus_client.parser import text_string_to_metric_families
from vitrina_simulators import edo_operator, onec
from vitrina_simulators import partner as partner_simulator

import billing.main
import catalog.main
import identity.main
import integrations.main
import orders.main
from identity.testing import (
    BANK,
    BUSINESS,
    OPERATOR_ID,
    OPERATOR_SECRET,
    PARTNER_BODY,
    bearer,
    get_token,
    organization_body,
)
from vitrina_contracts.layout import event_schema_path
from vitrina_kit import kafka
from vitrina_kit.local import free_port
from vitrina_kit.local.clock import process_env
from vitrina_kit.testing import ServiceProcess, migrated_database, read_topic, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

ROOT = Path(__file__).parents[2]
CONTRACTS = ROOT / "contracts"

T = TypeVar("T")
KOPECK = Decimal("0.01")
MSK = timedelta(hours=3)

# The seller on every document: billing's and identity's defaults for the operator.
OPERATOR_ORG_ID = "0b7e4f0a-3c59-4f0e-9a51-6a0c2d1e0001"
OPERATOR_INN = "7704123450"
OPERATOR_ACCOUNT = "40702810400000001234"
OPERATOR_BOX = "2BM-7704123450-770401001-000000000000001"
BUYER_BOX = "2BM-5012345672-501201001-000000000000042"
ONEC_USER, ONEC_PASSWORD = "odata", "odata-secret"

SEAT_PRICE = Decimal("490.00")  # «Офис», per seat and month, without VAT
PRO_PRICE = Decimal("790.00")
DEFAULT_COMMISSION = Decimal("20")


# -- money, computed independently ----------------------------------------------------------


def kopecks(amount: Decimal) -> Decimal:
    return amount.quantize(KOPECK, rounding=ROUND_HALF_UP)


def vat_rate(supply_day: date) -> int:
    """The standard rate of the supply date: 20% through 2025, 22% from 2026."""
    return 22 if supply_day >= date(2026, 1, 1) else 20


def days_in_month(day: date) -> int:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - day.replace(day=1)).days


def share(month_amount: Decimal, first: date, last: date) -> Decimal:
    """The days ``first``..``last`` (inclusive) of one calendar month, by days, rounded half up
    as a cumulative share of the month (so adjacent days add up to the whole)."""
    days = days_in_month(first)
    start, end = first.day - 1, last.day
    return kopecks(month_amount * end / days) - kopecks(month_amount * start / days)


@dataclass(frozen=True)
class Line:
    first: date
    last: date
    seats: int

    @property
    def net(self) -> Decimal:
        return share(SEAT_PRICE * self.seats, self.first, self.last)

    @property
    def vat(self) -> Decimal:
        return kopecks(self.net * vat_rate(self.first) / 100)

    @property
    def total(self) -> Decimal:
        return self.net + self.vat


def totals(*lines: Line) -> tuple[str, str, str]:
    """(net, VAT, total) of a document: the sums of its lines, as strings the API prints."""
    net = sum((line.net for line in lines), Decimal(0))
    vat = sum((line.vat for line in lines), Decimal(0))
    return f"{net:.2f}", f"{vat:.2f}", f"{net + vat:.2f}"


def at(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock in Moscow on ``day``, as an instant."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - MSK


# -- the marketplace's clock ----------------------------------------------------------------


class MarketplaceClock:
    """The wall clock every service process reads (see ``vitrina_kit.local.clock``)."""

    def __init__(self, path: Path, start: datetime) -> None:
        self.path = path
        self._set(start)

    def _set(self, instant: datetime) -> None:
        self._instant, self._since = instant, time.monotonic()
        staging = self.path.with_suffix(".new")
        staging.write_text(instant.isoformat(), encoding="utf-8")
        os.replace(staging, self.path)  # the processes never read half a line

    def now(self) -> datetime:
        return self._instant + timedelta(seconds=time.monotonic() - self._since)

    def timestamp(self) -> float:
        return self.now().timestamp()

    async def move_to(self, instant: datetime, apis: list[str]) -> None:
        """Move the services' calendar forward and wait until every API tells the new time
        (uvicorn's ``Date`` header, refreshed every second)."""
        self._set(instant)
        async with httpx.AsyncClient(timeout=5) as http:
            for url in apis:

                async def moved(url: str = url) -> bool:
                    answer = await http.get(f"{url}/health/live")
                    told = parsedate_to_datetime(answer.headers["date"])
                    return abs((told - self.now()).total_seconds()) < 120

                await wait_until(moved, timeout=10, interval=0.2, message=f"{url} to move on")


# -- the marketplace: services, simulators, actors ------------------------------------------


@dataclass
class Marketplace:
    identity: str
    catalog: str
    orders: str
    billing: str
    integrations: str
    edo: str
    onec: str
    clock: MarketplaceClock
    bootstrap: str
    databases: dict[str, str]
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    @property
    def apis(self) -> list[str]:
        return [self.identity, self.catalog, self.orders, self.billing, self.integrations]

    async def move_to(self, instant: datetime) -> None:
        await self.clock.move_to(instant, self.apis)


@dataclass
class Actor:
    """An organization's API client; ``headers`` carry a token fresh for the current time."""

    organization_id: str
    client_id: str
    secret: str
    headers: dict[str, str]

    async def log_in(self, idp: httpx.AsyncClient) -> None:
        self.headers = bearer(await get_token(idp, self.client_id, self.secret))


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float, message: str
) -> T:
    """What ``probe`` finds once it finds something (``wait_until``, typed for the story)."""
    found = await wait_until(probe, timeout=timeout, message=message)
    assert found is not None
    return found


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def ok(response: Awaitable[httpx.Response], status: int = 200) -> Any:
    answer = await response
    assert answer.status_code == status, f"{answer.request.url}: {answer.status_code} {answer.text}"
    return answer.json() if answer.content else None


@pytest.fixture
def simulators() -> Iterator[tuple[str, str]]:
    """The EDO operator (with the marketplace's and the buyer's boxes) and the operator's 1C."""
    edo_config = edo_operator.SimulatorConfig(
        clients=[
            edo_operator.Client("vitrina", "edo-operator-secret", OPERATOR_BOX),
            edo_operator.Client("romashka", "edo-buyer-secret", BUYER_BOX),
        ],
        delivery_delay_seconds=0.2,
    )
    with (
        edo_operator.running(edo_config) as edo_url,
        onec.running(onec.OneCConfig(users={ONEC_USER: ONEC_PASSWORD})) as onec_url,
    ):
        yield edo_url, onec_url


def start_marketplace(
    make_database: Callable[[str], str],
    start_service: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
    clock: MarketplaceClock,
    edo_url: str,
    onec_url: str,
) -> Marketplace:
    services = {
        "identity": identity.main.SERVICE,
        "catalog": catalog.main.SERVICE,
        "orders": orders.main.SERVICE,
        "billing": billing.main.SERVICE,
        "integrations": integrations.main.SERVICE,
    }
    ports = {name: free_port() for name in services}
    identity_url = f"http://127.0.0.1:{ports['identity']}"
    common = {
        # Real tokens from identity, verified against its JWKS.
        "VITRINA_AUTH_ISSUER": identity_url,
        "VITRINA_AUTH_JWKS_URL": f"{identity_url}/.well-known/jwks.json",
        # The marketplace's clock.
        **process_env(clock.path),
    }
    tuned = {
        "identity": {
            # The scenario spans two months: no rotation in the middle of it (rotation has its
            # own test in test_access_across_services).
            "IDENTITY_SIGNING_KEY_ROTATION_DAYS": "3650",
        },
        "orders": {"ORDERS_SCHEDULER_INTERVAL_SECONDS": "0.5"},
        "billing": {
            # Runs are the operator's here (POST /billing-runs); the calendar and dunning run
            # once at start, on a day with nothing to do.
            "BILLING_RUN_INTERVAL_SECONDS": "3600",
            "BILLING_DUNNING_INTERVAL_SECONDS": "3600",
        },
        "integrations": {
            "INTEGRATIONS_EDO_SEND_INTERVAL_SECONDS": "0.3",
            "INTEGRATIONS_EDO_TRACK_INTERVAL_SECONDS": "0.3",
            "INTEGRATIONS_EDO_SEND_RETRY_BASE_SECONDS": "0.05",
            "INTEGRATIONS_ONEC_SYNC_INTERVAL_SECONDS": "0.3",
            "INTEGRATIONS_ONEC_SYNC_RETRY_BASE_SECONDS": "0.05",
            "INTEGRATIONS_WEBHOOK_DISPATCH_INTERVAL_SECONDS": "0.2",
            "INTEGRATIONS_WEBHOOK_ALLOW_HTTP": "true",
            "INTEGRATIONS_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
            "INTEGRATIONS_WEBHOOK_RETRY_SCHEDULE": "500ms,1s,2s",
            "INTEGRATIONS_CONNECTOR_TIMEOUT_SECONDS": "3",
            "INTEGRATIONS_OPERATOR_ACCOUNT": OPERATOR_ACCOUNT,
        },
    }
    databases: dict[str, str] = {}
    processes: dict[str, ServiceProcess] = {}
    for name, service in services.items():
        prefix = name.upper() + "_"
        databases[name] = migrated_database(make_database, service)
        processes[name] = start_service(
            name,
            "run",
            port=ports[name],
            database_url=databases[name],
            env={
                **common,
                prefix + "CONSUMER_RETRY_STAGES": "500ms,1s,2s",
                **tuned.get(name, {}),
            },
        )
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    return Marketplace(
        **url, edo=edo_url, onec=onec_url, clock=clock, bootstrap=kafka_bootstrap,
        databases=databases, processes=processes,
    )  # fmt: skip


# -- outside the marketplace: the bank, the EDO operator, 1C -----------------------------------


def bank_statement(
    *, number: str, paid_on: date, amount: Decimal, purpose: str, payer_inn: str
) -> bytes:
    """A statement of the operator's account with one incoming payment, as a bank exports it
    for 1C (1CClientBankExchange 1.03, windows-1251)."""
    day = f"{paid_on:%d.%m.%Y}"
    lines = [
        "1CClientBankExchange",
        "ВерсияФормата=1.03",
        "Кодировка=Windows",
        "Отправитель=СберБизнес",
        "Получатель=Бухгалтерия предприятия, редакция 3.0",
        f"ДатаСоздания={day}",
        "ВремяСоздания=18:00:00",
        f"ДатаНачала={day}",
        f"ДатаКонца={day}",
        f"РасчСчет={OPERATOR_ACCOUNT}",
        "СекцияРасчСчет",
        f"ДатаНачала={day}",
        f"ДатаКонца={day}",
        f"РасчСчет={OPERATOR_ACCOUNT}",
        "НачальныйОстаток=0.00",
        f"ВсегоПоступило={amount:.2f}",
        "ВсегоСписано=0.00",
        f"КонечныйОстаток={amount:.2f}",
        "КонецРасчСчет",
        "СекцияДокумент=Платежное поручение",
        f"Номер={number}",
        f"Дата={day}",
        f"Сумма={amount:.2f}",
        f"ПлательщикСчет={BANK['settlement_account']}",
        f'Плательщик=ИНН {payer_inn} ООО "Ромашка"',
        f"ПлательщикИНН={payer_inn}",
        'Плательщик1=ООО "Ромашка"',
        f"ПлательщикРасчСчет={BANK['settlement_account']}",
        f"ПлательщикБанк1={BANK['bank_name']}",
        f"ПлательщикБИК={BANK['bik']}",
        f"ПлательщикКорсчет={BANK['correspondent_account']}",
        f"ПлательщикКПП={BUSINESS['kpp']}",
        f"ПолучательСчет={OPERATOR_ACCOUNT}",
        f"ДатаПоступило={day}",
        f"Получатель=ИНН {OPERATOR_INN} АО «Витрина»",
        f"ПолучательИНН={OPERATOR_INN}",
        "Получатель1=АО «Витрина»",
        f"ПолучательРасчСчет={OPERATOR_ACCOUNT}",
        "ПолучательБанк1=АО «Банк Пример»",
        "ПолучательБИК=044525999",
        "ПолучательКорсчет=30101810400000000999",
        "ВидОплаты=01",
        "Очередность=5",
        f"НазначениеПлатежа={purpose}",
        "КонецДокумента",
        "КонецФайла",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def purpose_of(invoice: dict[str, Any]) -> str:
    issued = date.fromisoformat(invoice["issued_on"])
    vat = invoice["document"]["vat_amount"]
    return f"Оплата по счету № {invoice['number']} от {issued:%d.%m.%Y}, в т.ч. НДС 22% - {vat}"


async def buyer_signs(edo_url: str, message_id: str) -> None:
    """The buyer's accountant signs the UPD in its EDO operator's web app."""
    async with httpx.AsyncClient(base_url=edo_url, timeout=10) as http:
        token = await ok(
            http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=("romashka", "edo-buyer-secret"),
            )
        )
        await ok(
            http.post(
                "/V3/PostMessagePatch",
                json={
                    "BoxId": BUYER_BOX,
                    "MessageId": message_id,
                    "RecipientTitles": [{"ParentEntityId": "1"}],
                },
                headers=bearer(token["access_token"]),
            )
        )


async def in_1c(onec_url: str, entity_set: str) -> list[dict[str, Any]]:
    """What the accountant sees in 1C."""
    async with httpx.AsyncClient(auth=(ONEC_USER, ONEC_PASSWORD), timeout=10) as http:
        root = onec.odata_root(onec_url, "accounting")
        found: list[dict[str, Any]] = (
            await ok(http.get(f"{root}/{entity_set}", params={"$format": "json"}))
        )["value"]
        return found


# -- the topics -------------------------------------------------------------------------------

TOPICS = (
    "identity.organizations",
    "catalog.products",
    "orders.orders",
    "orders.subscriptions",
    "billing.invoices",
    "billing.payments",
    "billing.settlements",
    "integrations.edo",
    "integrations.bank",
    "integrations.provisioning",
)


def contract_errors(envelope: dict[str, Any]) -> list[str]:
    schema = json.loads((CONTRACTS / event_schema_path(envelope["type"])).read_text("utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [error.message for error in validator.iter_errors(envelope)]


async def every_event(bootstrap: str) -> dict[str, list[dict[str, Any]]]:
    """Every topic read from its start (in each partition's order), each event checked against
    its contract. The outboxes are drained before this is called, so a short read finds all."""

    async def read(topic: str) -> list[dict[str, Any]]:
        records = await read_topic(bootstrap, topic, expected=10_000, timeout=4)
        envelopes = []
        for record in records:
            envelope = json.loads(record.value)
            assert contract_errors(envelope) == [], (topic, envelope["type"])
            assert record.key is not None
            assert record.key.decode() == envelope["subject"]  # keyed by its aggregate
            envelopes.append(envelope)
        return envelopes

    found = await asyncio.gather(*(read(topic) for topic in TOPICS))
    return dict(zip(TOPICS, found, strict=True))


def story_of(events: list[dict[str, Any]], subject: str) -> list[str]:
    """One aggregate's event types in order (one key, one partition: the order it happened)."""
    return [e["type"].removeprefix("ru.vitrina.") for e in events if e["subject"] == subject]


# -- the scenario ------------------------------------------------------------------------------


async def test_the_marketplace_from_a_partners_product_to_the_final_closing_document(
    make_database: Callable[[str], str],
    start_service: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
    simulators: tuple[str, str],
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    # April 2026 (22% VAT); the business orders on Monday the 6th.
    order_day, change_day = date(2026, 4, 6), date(2026, 4, 16)
    may, cancel_day, june = date(2026, 5, 1), date(2026, 5, 12), date(2026, 6, 1)
    clock = MarketplaceClock(tmp_path / "clock", at(order_day, 9))
    await kafka.ensure_topics(kafka_bootstrap)
    edo_url, onec_url = simulators
    market = start_marketplace(
        make_database, start_service, kafka_bootstrap, clock, edo_url, onec_url
    )
    await market.move_to(at(order_day, 9))  # every process is in April

    with partner_simulator.running(clock=clock.timestamp) as partner_server:
        async with (
            httpx.AsyncClient(base_url=market.identity, timeout=15) as idp,
            httpx.AsyncClient(timeout=15) as http,
        ):
            operator_token = await get_token(idp, OPERATOR_ID, OPERATOR_SECRET)
            operator = Actor(OPERATOR_ORG_ID, OPERATOR_ID, OPERATOR_SECRET, bearer(operator_token))

            async def register(body: dict[str, object], scopes: list[str]) -> Actor:
                organization = await ok(
                    idp.post("/organizations", json=body, headers={**operator.headers, **key()}),
                    201,
                )
                client = await ok(
                    idp.post(
                        f"/organizations/{organization['id']}/clients",
                        json={"name": "ERP", "scopes": scopes},
                        headers={**operator.headers, **key()},
                    ),
                    201,
                )
                actor = Actor(organization["id"], client["client_id"], client["client_secret"], {})
                await actor.log_in(idp)
                return actor

            async def log_everyone_in() -> None:
                for actor in (operator, partner, business):
                    await actor.log_in(idp)

            # ---- 1. The operator connects its EDO operator and its 1C ----------------------
            await ok(
                http.post(
                    f"{market.integrations}/connectors",
                    json={
                        "kind": "edo_operator", "name": "diadoc", "endpoint_url": edo_url,
                        "auth_method": "oauth2_client_credentials",
                        "token_url": f"{edo_url}/oauth/token", "login": "vitrina",
                        "options": {"box_id": OPERATOR_BOX},
                        "secrets": {"client_secret": "edo-operator-secret"},
                    },
                    headers={**operator.headers, **key()},
                ),
                201,
            )  # fmt: skip
            await ok(
                http.post(
                    f"{market.integrations}/connectors",
                    json={
                        "kind": "onec_odata", "name": "accounting",
                        "endpoint_url": onec.odata_root(onec_url, "accounting"),
                        "auth_method": "basic", "login": ONEC_USER,
                        "secrets": {"password": ONEC_PASSWORD},
                        "options": {"organization_key": str(uuid.uuid4())},
                    },
                    headers={**operator.headers, **key()},
                ),
                201,
            )  # fmt: skip

            # ---- 2. A partner joins and publishes a product with two plans -----------------
            partner = await register(
                dict(PARTNER_BODY),
                ["catalog:read", "catalog:write", "orders:read", "billing:read",
                 "integrations:read", "integrations:write"],
            )  # fmt: skip
            endpoint = await ok(
                http.post(
                    f"{market.integrations}/webhooks/endpoints",
                    json={"url": partner_server.url, "provisioning": True},
                    headers={**partner.headers, **key()},
                ),
                201,
            )
            partner_server.secret = endpoint["signing_secret"]
            product = await ok(
                http.post(
                    f"{market.catalog}/products",
                    json={
                        "slug": f"vpbx-{uuid.uuid4().hex[:8]}",
                        "name": "Виртуальная АТС",
                        "short_description": "Облачная телефония для офиса",
                        "category": "telephony",
                        "plans": [
                            {"code": "office", "name": "Офис", "billing_period": "month",
                             "pricing_unit": "seat", "unit_price": f"{SEAT_PRICE}",
                             "vat_mode": "standard", "min_quantity": 1, "max_quantity": 200},
                            {"code": "pro", "name": "Про", "billing_period": "month",
                             "pricing_unit": "seat", "unit_price": f"{PRO_PRICE}",
                             "vat_mode": "standard", "min_quantity": 1, "max_quantity": 200},
                        ],
                    },
                    headers={**partner.headers, **key()},
                ),
                201,
            )  # fmt: skip
            product_id = product["id"]
            office = next(plan for plan in product["plans"] if plan["code"] == "office")
            await ok(http.post(f"{market.catalog}/products/{product_id}/submit",
                               headers=partner.headers))  # fmt: skip

            # ---- 3. The operator approves it ----------------------------------------------
            approved = await ok(
                http.post(f"{market.catalog}/products/{product_id}/approve",
                          headers=operator.headers)
            )  # fmt: skip
            assert approved["status"] == "published"

            # ---- 4. A business joins (requisites, EDO id) and orders 10 seats ---------------
            business = await register(
                organization_body(edo_participant_id=BUYER_BOX),
                ["orders:read", "orders:write", "catalog:read", "billing:read",
                 "integrations:read"],
            )  # fmt: skip

            async def orderable() -> bool:
                answer = await http.get(
                    f"{market.orders}/catalog/products/{product_id}", headers=business.headers
                )
                return answer.status_code == 200

            await eventually(orderable, timeout=30, message="the product in orders' catalog")
            order = await ok(
                http.post(
                    f"{market.orders}/orders",
                    json={"lines": [{"plan_id": office["id"], "quantity": 10}]},
                    headers={**business.headers, **key()},
                ),
                201,
            )
            assert order["status"] == "completed"
            subscription_id = order["lines"][0]["subscription_id"]

            async def subscription() -> dict[str, Any]:
                found: dict[str, Any] = await ok(
                    http.get(f"{market.orders}/subscriptions/{subscription_id}",
                             headers=business.headers)
                )  # fmt: skip
                return found

            first = await subscription()
            assert (first["status"], first["quantity"], first["started_on"]) == (
                "pending", 10, order_day.isoformat(),
            )  # fmt: skip

            # ---- 5. The invoice for payment: April 6–30, 25 of 30 days --------------------
            async def invoices() -> list[dict[str, Any]]:
                page = await ok(http.get(f"{market.billing}/invoices", headers=business.headers))
                return sorted(page["items"], key=lambda invoice: invoice["number"])

            async def invoices_count(count: int) -> list[dict[str, Any]] | None:
                found = await invoices()
                return found if len(found) >= count else None

            [april_invoice] = await eventually(
                lambda: invoices_count(1), timeout=30, message="the first invoice"
            )
            april_first = Line(order_day, date(2026, 4, 30), 10)
            document = april_invoice["document"]
            assert april_invoice["number"] == "СЧ-2026-000001"
            assert april_invoice["status"] == "issued"
            assert april_invoice["issued_on"] == order_day.isoformat()
            assert (document["amount_net"], document["vat_amount"], document["amount_total"]) == (
                totals(april_first)
            )
            [line] = document["lines"]
            assert (line["period_start"], line["period_end"], line["quantity"]) == (
                "2026-04-06", "2026-04-30", 10,
            )  # fmt: skip
            assert line["vat_rate"] == 22
            assert document["buyer"]["inn"] == BUSINESS["inn"]
            assert document["seller"]["inn"] == OPERATOR_INN

            # ... and reaches the operator's 1C.
            async def in_1c_by_number(
                entity_set: str, number: str, *, posted: bool = False
            ) -> dict[str, Any] | None:
                found = [d for d in await in_1c(onec_url, entity_set) if d["Number"] == number]
                # A sale is written, then posted (two requests): wait for what was asked.
                return found[0] if found and (found[0]["Posted"] or not posted) else None

            onec_invoice = await eventually(
                lambda: in_1c_by_number("Document_СчетНаОплатуПокупателю", april_invoice["number"]),
                timeout=30,
                message="the invoice in 1C",
            )
            assert Decimal(str(onec_invoice["СуммаДокумента"])) == Decimal(
                april_invoice["amount_total"]
            )

            # ---- 6. The business pays; the bank statement is imported ---------------------
            await market.move_to(at(order_day + timedelta(days=1), 18))
            await log_everyone_in()

            paid_amounts: list[Decimal] = []

            async def pay(invoice: dict[str, Any], amount: Decimal, number: str) -> None:
                statement = bank_statement(
                    number=number,
                    paid_on=clock.now().date(),
                    amount=amount,
                    purpose=purpose_of(invoice),
                    payer_inn=BUSINESS["inn"],
                )
                imported = await ok(
                    http.post(
                        f"{market.integrations}/bank-statements",
                        content=statement,
                        headers={**operator.headers, **key(),
                                 "Content-Type": "application/octet-stream"},
                    ),
                    201,
                )  # fmt: skip
                assert (imported["imported"], imported["duplicates"]) == (1, 0)
                paid_amounts.append(amount)

            await pay(april_invoice, april_first.total, "318")

            async def invoice_status(number: str, status: str) -> dict[str, Any] | None:
                found = [i for i in await invoices() if i["number"] == number]
                return found[0] if found and found[0]["status"] == status else None

            paid = await eventually(
                lambda: invoice_status(april_invoice["number"], "paid"), timeout=30,
                message="the first invoice paid",
            )  # fmt: skip
            assert paid["amount_paid"] == f"{april_first.total:.2f}"

            # ---- 7. The subscription is active; the partner provisions it -----------------
            async def subscription_where(**wanted: Any) -> dict[str, Any] | None:
                found = await subscription()
                return found if all(found[k] == v for k, v in wanted.items()) else None

            active = await eventually(
                lambda: subscription_where(status="active"), timeout=30, message="activation"
            )
            assert active["quantity"] == 10

            async def acknowledged(action: str) -> list[partner_simulator.Call]:
                return [
                    call for call in partner_server.verified
                    if call.message["type"] == f"provisioning.{action}"
                ]  # fmt: skip

            [activation] = await eventually(
                lambda: acknowledged("activate"), timeout=30, message="the partner's call"
            )
            sent = activation.message["data"]["subscription"]
            assert (sent["subscription_id"], sent["quantity"]) == (subscription_id, 10)
            provisioned = await eventually(
                lambda: _provisioned(subscription), timeout=30,
                message="provisioning recorded in orders",
            )  # fmt: skip
            assert provisioned["provisioning"]["outcome"] == "succeeded"

            # ---- 8. Mid-month, 15 seats: a credit note and an extra invoice ----------------
            await market.move_to(at(change_day, 11))
            await log_everyone_in()
            changed = await ok(
                http.post(
                    f"{market.orders}/subscriptions/{subscription_id}/seats",
                    json={"quantity": 15},
                    headers={**business.headers, "If-Match": f'"{provisioned["version"]}"'},
                )
            )
            assert changed["quantity"] == 15

            async def credit_notes() -> list[dict[str, Any]]:
                page = await ok(
                    http.get(f"{market.billing}/credit-notes", headers=business.headers)
                )
                items: list[dict[str, Any]] = page["items"]
                return items

            [extra_invoice] = [
                i for i in await eventually(
                    lambda: invoices_count(2), timeout=30, message="the extra invoice"
                )
                if i["number"] != april_invoice["number"]
            ]  # fmt: skip
            [credit_note] = await eventually(credit_notes, timeout=30, message="the credit note")
            unused = Line(change_day, date(2026, 4, 30), 10)
            more = Line(change_day, date(2026, 4, 30), 15)
            note = credit_note["document"]
            assert note["corrected_document_number"] == april_invoice["number"]
            assert (note["amount_net"], note["vat_amount"], note["amount_total"]) == totals(unused)
            [credited] = note["lines"]
            assert (credited["period_start"], credited["period_end"], credited["quantity"]) == (
                "2026-04-16", "2026-04-30", 10,
            )  # fmt: skip
            charge = extra_invoice["document"]
            assert (charge["amount_net"], charge["vat_amount"], charge["amount_total"]) == (
                totals(more)
            )
            [charged] = charge["lines"]
            assert (charged["period_start"], charged["period_end"], charged["quantity"]) == (
                "2026-04-16", "2026-04-30", 15,
            )  # fmt: skip

            # The credit for the paid days went to the balance and paid the charge in part;
            # the business pays the difference.
            async def partly_paid() -> dict[str, Any] | None:
                found = [i for i in await invoices() if i["number"] == extra_invoice["number"]]
                return found[0] if found and Decimal(found[0]["amount_paid"]) > 0 else None

            extra = await eventually(partly_paid, timeout=30, message="the credit applied")
            assert extra["amount_paid"] == f"{unused.total:.2f}"
            difference = more.total - unused.total
            await market.move_to(at(change_day + timedelta(days=1), 15))
            await log_everyone_in()
            await pay(extra, difference, "342")
            await eventually(
                lambda: invoice_status(extra["number"], "paid"), timeout=30,
                message="the extra invoice paid",
            )  # fmt: skip
            await eventually(lambda: acknowledged("change"), timeout=30, message="the change")

            # ---- 9. April closes: the UPD, signed by the buyer; the sale in 1C -------------
            await market.move_to(at(may, 3))
            await log_everyone_in()

            async def billing_run(kind: str, day: date) -> dict[str, Any]:
                run: dict[str, Any] = await ok(
                    http.post(
                        f"{market.billing}/billing-runs",
                        json={"kind": kind, "date": day.isoformat()},
                        headers={**operator.headers, **key()},
                    ),
                    201,
                )
                assert run["status"] == "completed", run
                return run

            april_close = await billing_run("period_close", date(2026, 4, 30))
            assert april_close["documents_issued"] == 1

            async def closing_documents() -> list[dict[str, Any]]:
                page = await ok(
                    http.get(f"{market.billing}/closing-documents", headers=business.headers)
                )
                return sorted(page["items"], key=lambda d: d["number"])

            [april_upd] = await closing_documents()
            april_lines = (
                Line(order_day, date(2026, 4, 15), 10),
                Line(change_day, date(2026, 4, 30), 15),
            )
            upd = april_upd["document"]
            assert april_upd["number"] == "УПД-2026-000001"
            assert april_upd["issued_on"] == "2026-04-30"
            assert (upd["period_start"], upd["period_end"]) == ("2026-04-01", "2026-04-30")
            assert [
                (li["period_start"], li["period_end"], li["quantity"], li["amount_net"],
                 li["vat_rate"], li["vat_amount"])
                for li in upd["lines"]
            ] == [
                (li.first.isoformat(), li.last.isoformat(), li.seats, f"{li.net:.2f}", 22,
                 f"{li.vat:.2f}")
                for li in april_lines
            ]  # fmt: skip
            assert (upd["amount_net"], upd["vat_amount"], upd["amount_total"]) == totals(
                *april_lines
            )
            # What was rendered in April is exactly what the business paid for it.
            assert Decimal(upd["amount_total"]) == april_first.total + difference

            async def edo_document(number: str, *statuses: str) -> dict[str, Any] | None:
                page = await ok(
                    http.get(f"{market.integrations}/edo/documents", headers=business.headers)
                )
                found = [d for d in page["items"] if d["document_number"] == number]
                return found[0] if found and found[0]["status"] in statuses else None

            async def buyer_receives_and_signs(closing: dict[str, Any]) -> dict[str, Any]:
                """The UPD reaches the buyer's box, the buyer signs it, integrations sees it."""
                number = closing["number"]
                delivered = await eventually(
                    lambda: edo_document(number, "delivered", "failed"), timeout=40,
                    message=f"{number} delivered",
                )  # fmt: skip
                if delivered["status"] == "failed":
                    return delivered
                assert delivered["recipient_edo_id"] == BUYER_BOX
                assert delivered["sender_edo_id"] == OPERATOR_BOX
                assert delivered["file_name"].startswith(
                    f"ON_NSCHFDOPPR_{BUYER_BOX}_{OPERATOR_BOX}_"
                )
                await buyer_signs(edo_url, delivered["operator_message_id"])
                signed = await eventually(
                    lambda: edo_document(number, "signed"), timeout=30,
                    message=f"the buyer's signature on {number}",
                )  # fmt: skip
                xml = await http.get(
                    f"{market.integrations}/edo/documents/{signed['edo_document_id']}/xml",
                    headers=business.headers,
                )
                assert xml.headers["content-type"] == "application/xml; charset=windows-1251"
                total = closing["document"]["amount_total"]
                assert f'СтТовУчНалВсего="{total}"'.encode("cp1251") in xml.content
                return signed

            async def to_the_buyer(closing: dict[str, Any]) -> None:
                """The UPD's trip through EDO, to the buyer's signature."""
                trip = await buyer_receives_and_signs(closing)
                assert trip["status"] == "signed", trip

            await to_the_buyer(april_upd)  # prorated lines: 25 days of 10 seats, 15 of 5 more

            sale = await eventually(
                lambda: in_1c_by_number(
                    "Document_РеализацияТоваровУслуг", april_upd["number"], posted=True
                ),
                timeout=30,
                message="the sale in 1C",
            )
            assert sale["Posted"] is True
            assert Decimal(str(sale["СуммаДокумента"])) == Decimal(upd["amount_total"])

            # ---- 10. The partner's settlement for April -----------------------------------
            await billing_run("settlements", date(2026, 4, 30))
            settlements = await ok(
                http.get(f"{market.billing}/settlements", headers=partner.headers)
            )
            [settlement] = settlements["items"]
            gross = sum((line.net for line in april_lines), Decimal(0))
            commission = kopecks(gross * DEFAULT_COMMISSION / 100)
            assert (settlement["period_starts_on"], settlement["partner_id"]) == (
                "2026-04-01", partner.organization_id,
            )  # fmt: skip
            assert (settlement["gross_sales"], settlement["commission"], settlement["payout"]) == (
                f"{gross:.2f}", f"{commission:.2f}", f"{gross - commission:.2f}",
            )  # fmt: skip

            # ---- 11. May is invoiced and paid -------------------------------------------
            await billing_run("renewals", may)
            may_invoice = [
                i for i in await invoices()
                if i["number"] not in (april_invoice["number"], extra["number"])
            ]  # fmt: skip
            assert len(may_invoice) == 1, may_invoice
            may_month = Line(may, date(2026, 5, 31), 15)
            may_doc = may_invoice[0]["document"]
            assert (may_doc["amount_net"], may_doc["vat_amount"], may_doc["amount_total"]) == (
                totals(may_month)
            )
            await market.move_to(at(may + timedelta(days=3), 12))
            await log_everyone_in()
            await pay(may_invoice[0], may_month.total, "377")
            await eventually(
                lambda: invoice_status(may_invoice[0]["number"], "paid"), timeout=30,
                message="May paid",
            )  # fmt: skip

            # ---- 12. The business cancels at the end of the period it paid for ------------
            await market.move_to(at(cancel_day, 10))
            await log_everyone_in()
            current = await subscription()
            scheduled = await ok(
                http.post(
                    f"{market.orders}/subscriptions/{subscription_id}/cancel",
                    json={"mode": "period_end", "reason": "Переходим на свою АТС"},
                    headers={**business.headers, "If-Match": f'"{current["version"]}"'},
                )
            )
            assert scheduled["status"] == "active"
            service_ends = date.fromisoformat(scheduled["scheduled_cancellation"]["effective_on"])
            # At the end of the paid period: the calendar month billing has invoiced.
            assert service_ends == june, scheduled
            last_day = service_ends - timedelta(days=1)
            # The partner is told when the business decides (and before the calendar moves:
            # a signature made just before a jump would look stale to the partner's clock).
            await eventually(lambda: acknowledged("cancel"), timeout=30, message="the cancel")

            # ---- 13. May closes: its UPD goes to the buyer; June is not invoiced -----------
            await market.move_to(at(june, 3))
            await log_everyone_in()
            may_close = await billing_run("period_close", date(2026, 5, 31))
            assert may_close["documents_issued"] == 1
            _, may_upd = await closing_documents()
            assert may_upd["number"] == "УПД-2026-000002"
            assert may_upd["document"]["lines"][0]["quantity"] == 15
            may_totals = may_upd["document"]
            assert (may_totals["amount_net"], may_totals["vat_amount"],
                    may_totals["amount_total"]) == totals(may_month)  # fmt: skip
            await to_the_buyer(may_upd)
            june_renewals = await billing_run("renewals", june)
            final_month = Line(last_day.replace(day=1), last_day, 15)
            # Nothing of June is served, so nothing of it is invoiced.
            assert june_renewals["documents_issued"] == 0

            # ---- 14. The service ends; its last month closes: the final closing document ----
            await market.move_to(at(service_ends, 3))
            await log_everyone_in()
            ended = await eventually(
                lambda: subscription_where(status="cancelled"), timeout=30,
                message="the cancellation applied",
            )  # fmt: skip
            assert ended["current_period"] is None
            *_, final = await closing_documents()
            final_doc = final["document"]
            assert (final_doc["period_start"], final_doc["period_end"]) == (
                final_month.first.replace(day=1).isoformat(),
                final_month.first.replace(day=days_in_month(final_month.first)).isoformat(),
            )
            assert [
                (li["period_start"], li["period_end"], li["quantity"], li["amount_net"],
                 li["vat_amount"])
                for li in final_doc["lines"]
            ] == [
                (final_month.first.isoformat(), final_month.last.isoformat(), 15,
                 f"{final_month.net:.2f}", f"{final_month.vat:.2f}")
            ]  # fmt: skip
            assert (final_doc["amount_net"], final_doc["vat_amount"],
                    final_doc["amount_total"]) == totals(final_month)  # fmt: skip
            # The final closing document is May's, already signed by the buyer.
            assert final["document_id"] == may_upd["document_id"]

            # Nothing is left unpublished anywhere (the relays may be a poll behind), and
            # nothing was parked.
            for url in market.apis:

                async def drained(url: str = url) -> dict[str, Any] | None:
                    backlog: dict[str, Any] = await ok(
                        http.get(f"{url}/ops/outbox", headers=operator.headers)
                    )
                    assert backlog["parked"] == 0, (url, backlog)
                    return backlog if backlog["pending"] == 0 else None

                await eventually(drained, timeout=10, message=f"{url}'s outbox drained")

            customer_invoices, closings = await invoices(), await closing_documents()

        assert all(call.verified for call in partner_server.calls), partner_server.calls

    # ---- 15. Every topic, in order, every event valid against its contract ------------------
    topics = await every_event(kafka_bootstrap)
    assert story_of(topics["identity.organizations"], partner.organization_id) == [
        "identity.organization.registered"
    ]
    assert story_of(topics["identity.organizations"], business.organization_id) == [
        "identity.organization.registered"
    ]
    assert story_of(topics["catalog.products"], product_id) == ["catalog.product.published"]
    assert story_of(topics["orders.orders"], order["order_id"]) == ["orders.order.completed"]
    assert story_of(topics["orders.subscriptions"], subscription_id) == [
        "orders.subscription.created",
        "orders.subscription.activated",
        "orders.subscription.changed",
        "orders.subscription.cancelled",
    ]

    documents = topics["billing.invoices"]
    for invoice in customer_invoices:
        assert story_of(documents, invoice["invoice_id"]) == [
            "billing.invoice.issued",
            "billing.invoice.paid",
        ], invoice["number"]
    assert story_of(documents, credit_note["document_id"]) == ["billing.credit_note.issued"]
    for closing in closings:
        assert story_of(documents, closing["document_id"]) == ["billing.closing_document.issued"]
    # Across documents (each its own key) the times tell the story's order.
    issued_at = {e["subject"]: e["time"] for e in documents if e["type"].endswith("issued")}
    by_number = {i["number"]: i["invoice_id"] for i in customer_invoices}
    story = [
        by_number["СЧ-2026-000001"],  # April, 25 of 30 days
        credit_note["document_id"],  # 10 seats, 16–30 April, credited
        by_number["СЧ-2026-000002"],  # 15 seats, 16–30 April, charged
        closings[0]["document_id"],  # April's UPD
        by_number["СЧ-2026-000003"],  # May
        closings[1]["document_id"],  # May's UPD
    ]
    assert len(story) == len(customer_invoices) + len(closings) + 1
    times = [issued_at[subject] for subject in story]
    assert times == sorted(times)

    payments: dict[str, list[str]] = defaultdict(list)
    for event in topics["billing.payments"]:
        payments[event["subject"]].append(event["type"].removeprefix("ru.vitrina.billing."))
    assert list(payments.values()) == [["payment.received", "payment.allocated"]] * len(
        paid_amounts
    )
    imported = [e["data"]["bank_payment"] for e in topics["integrations.bank"]]
    # One statement line each (their keys spread over the partitions: compared as sets).
    assert sorted((p["payer_inn"], Decimal(p["amount"])) for p in imported) == sorted(
        (BUSINESS["inn"], amount) for amount in paid_amounts
    )

    for subject in {e["subject"] for e in topics["integrations.edo"]}:
        assert story_of(topics["integrations.edo"], subject) in (
            ["integrations.edo_document.failed"],  # the skipped sub-steps above
            ["integrations.edo_document.sent", "integrations.edo_document.delivered",
             "integrations.edo_document.signed"],
        )  # fmt: skip
    assert story_of(topics["integrations.edo"], closings[1]["document_id"])[-1] == (
        "integrations.edo_document.signed"
    )
    provisioning = [
        e for e in topics["integrations.provisioning"] if e["subject"] == subscription_id
    ]
    assert [(e["type"], e["data"]["action"]) for e in provisioning] == [
        ("ru.vitrina.integrations.provisioning.succeeded", action)
        for action in ("activate", "change", "cancel")
    ]
    [settled] = topics["billing.settlements"]
    assert settled["subject"] == settlement["settlement_id"]

    # ---- 16. The logs: JSON lines, traced, and nothing secret or personal in them -----------
    secrets = [
        OPERATOR_SECRET, partner.secret, business.secret, endpoint["signing_secret"],
        "edo-operator-secret", ONEC_PASSWORD,
        *(actor.headers["Authorization"].removeprefix("Bearer ")
          for actor in (operator, partner, business)),
    ]  # fmt: skip
    requisites = [
        BUSINESS["inn"], BUSINESS["kpp"], BUSINESS["ogrn"], str(PARTNER_BODY["inn"]),
        str(PARTNER_BODY["kpp"]), OPERATOR_INN, OPERATOR_ACCOUNT, BANK["settlement_account"],
        BANK["correspondent_account"], BANK["bik"],
    ]  # fmt: skip
    assert_logs_are_clean(market.processes, secrets=secrets, requisites=requisites)

    # ---- 17. The metrics: what the story did shows on each service's /metrics -------------
    await assert_metrics_tell_the_story(market)

    print(f"the scenario took {time.monotonic() - started:.0f}s")


async def assert_metrics_tell_the_story(market: Marketplace) -> None:
    """Requests, handled events, billing runs, webhook deliveries and EDO documents are counted
    where they happened; once the story is over, no backlog is left anywhere (the gauges are
    refreshed every few seconds, so they are waited for) and nothing was dead-lettered."""
    services = ("identity", "catalog", "orders", "billing", "integrations")  # market.apis' order

    async def scrape() -> dict[str, list[tuple[str, dict[str, str], float]]]:
        scraped = {}
        async with httpx.AsyncClient(timeout=10) as http:
            for name, url in zip(services, market.apis, strict=True):
                text = (await http.get(f"{url}/metrics")).text
                scraped[name] = [
                    (sample.name, sample.labels, sample.value)
                    for family in text_string_to_metric_families(text)
                    for sample in family.samples
                ]
        return scraped

    def total(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
        return sum(
            value
            for sample, found, value in samples
            if sample == name and all(found.get(k) == v for k, v in labels.items())
        )

    metrics = await scrape()
    orders, billing, integrations = metrics["orders"], metrics["billing"], metrics["integrations"]
    created = "ru.vitrina.orders.subscription.created"
    assert total(orders, "vitrina_http_requests_total", route="/orders", status="201")
    assert total(billing, "vitrina_consumer_events_total", event_type=created, outcome="handled")
    closes = total(billing, "vitrina_billing_runs_total", kind="period_close", outcome="completed")
    assert closes >= 2  # April and May by the operator; the worker's calendar job may add one
    assert total(billing, "vitrina_billing_run_duration_seconds_count") >= closes
    delivered = total(integrations, "vitrina_webhook_deliveries_total", outcome="delivered")
    assert delivered >= 3  # the partner acknowledged activate, change and cancel
    signed = total(integrations, "vitrina_edo_document_transitions_total", status="signed")
    assert signed >= 1
    for name in services:
        assert total(metrics[name], "vitrina_dead_letters_total") == 0, name

    async def drained() -> bool:
        nonlocal metrics
        metrics = await scrape()
        return (
            all(
                total(samples, "vitrina_outbox_backlog_messages") == 0
                and total(samples, "vitrina_outbox_oldest_unpublished_age_seconds") == 0
                and total(samples, "vitrina_consumer_lag_messages") == 0
                for samples in metrics.values()
            )
            and total(metrics["integrations"], "vitrina_edo_documents", status="signed") >= 1
        )

    await wait_until(drained, timeout=40, interval=1.0, message="backlogs drained on /metrics")


def assert_logs_are_clean(
    processes: dict[str, ServiceProcess], *, secrets: list[str], requisites: list[str]
) -> None:
    """Every service's log: JSON lines only; a trace id on every request and handler line, and
    the organization on authenticated requests; none of ``secrets`` nor ``requisites``
    anywhere. One POST /orders in orders and billing's handling of what it caused share a trace."""
    lines: dict[str, list[dict[str, Any]]] = {}
    for name, process in processes.items():
        text = process.logs()
        for leaked in (*secrets, *requisites):
            assert leaked not in text, f"{name}'s log shows {leaked[:4]}…"
        # Once its logging is configured, a process writes JSON lines only (what an import
        # printed before that, a library's deprecation warning, is not a log line).
        _before, first, rest = ("\n" + text).partition("\n{")
        lines[name] = [json.loads(line) for line in ("{" + rest).splitlines() if line.strip()]
        assert first, f"{name} logged nothing"
    handled = [e for entries in lines.values() for e in entries if e["event"] == "event handled"]
    requests = [
        e
        for entries in lines.values()
        for e in entries
        if e["event"] == "request handled" and not e["http_path"].startswith("/health/")
    ]
    assert handled
    assert requests
    for entry in handled:
        assert {"trace_id", "span_id", "event_id", "event_type", "correlation_id"} <= entry.keys()
    for entry in requests:
        assert {"trace_id", "span_id", "correlation_id"} <= entry.keys(), entry
    assert any("organization_id" in e for e in requests)
    orders_posted = {
        e["trace_id"]
        for e in lines["orders"]
        if e["event"] == "request handled"
        and (e["http_method"], e["http_path"]) == ("POST", "/orders")
    }
    billed = {
        e["trace_id"]
        for e in lines["billing"]
        if e["event"] == "event handled"
        and e["event_type"] == "ru.vitrina.orders.subscription.created"
    }
    assert orders_posted
    assert orders_posted <= billed


async def _provisioned(
    subscription: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any] | None:
    found = await subscription()
    provisioning = found.get("provisioning")
    return found if provisioning and provisioning["outcome"] == "succeeded" else None
