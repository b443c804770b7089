"""Closing a billing period: the month-end run issuing every customer's closing document (UPD)
for ``--subscriptions`` active subscriptions, against the same inserts as one SQL statement.

The state is what billing holds on the last day of November 2025 after months of business:
customers (identity's requisites, each with a valid INN), partners' products and monthly plans,
``--per-customer`` active subscriptions per customer since October on one of them, each
customer's account and its paid November invoice with the periods it billed. It is written
with asyncpg COPY (seconds for 100,000 subscriptions), then ANALYZEd.

The measured side is billing's own period close (:func:`billing.runs.service.execute`, kind
``period_close``) exactly as ``POST /billing-runs`` or the calendar runs it: one transaction per
``--close-batch`` customers (``RunRules.close_batch``) under their account locks, the service
history priced by the invoices domain, the documents validated by the contract,
``closing_document.issued`` written to the outbox, the batch's numbers taken from the counter
as one block; ``--concurrency`` batches at once (the service's ``BILLING_RUN_CONCURRENCY``).
One customer per transaction (``--close-batch 1``) measured 826 subscriptions/s for 100,000,
queueing on the counter's row lock. The floor is the minimal SQL doing the same inserts on a copy of
the same state: one ``INSERT … SELECT`` builds every closing document (lines priced and VAT
rounded per line in SQL, numbers from ``row_number()``), another writes their outbox rows, in
one transaction over bare asyncpg. Both must leave the same documents (count and totals are
compared). Figures are subscriptions closed per second; the ratio is measured over floor, the
median of ``--rounds`` interleaved rounds (documents, outbox and counters reset in between).

Run alone with ``python bench/billing_close.py`` (100,000 subscriptions), or with the others
through ``bench/run.py``. PostgreSQL is embedded unless ``VITRINA_BENCH_POSTGRES_URL`` (or
``--postgres-url``) names a server, where the benchmark creates databases of its own and drops
them afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from billing.invoices.documents import seller
from billing.invoices.domain import Period
from billing.main import SERVICE
from billing.runs import service as runs
from billing.settings import BillingSettings
from vitrina_kit import db
from vitrina_kit.local import EmbeddedPostgres, create_database, drop_database
from vitrina_kit.migrations import upgrade

MONTH = Period.month(2025, 11)
SINCE = date(2025, 10, 1)
SELLER = seller(BillingSettings())
CLOSE_BATCH = runs.RunRules().close_batch
INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


@dataclass(frozen=True)
class Figures:
    seconds: float
    subscriptions_per_s: float


def inn(number: int) -> str:
    """The ``number``-th organization INN, with its check digit (the contract validates it)."""
    head = f"77{number:07d}"
    check = sum(int(d) * w for d, w in zip(head, INN_WEIGHTS, strict=True)) % 11 % 10
    return f"{head}{check}"


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def load(url: str, *, subscriptions: int, per_customer: int, seed: int = 7) -> int:
    """Write the state with COPY; the number of customers."""
    rng = random.Random(seed)
    customers = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(subscriptions // per_customer)]
    partners = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(5)]
    products = [(uuid.UUID(int=rng.getrandbits(128)), partners[i % 5]) for i in range(40)]
    plans = [
        (uuid.UUID(int=rng.getrandbits(128)), product, partner, Decimal(rng.randrange(99, 2999)))
        for product, partner in products
    ]
    organizations = [
        (
            customer, "business", f"ООО «Клиент {n}»", None, inn(n), "770101001",
            f"г. Москва, ул. Примерная, д. {n}", None, None, None, None, None, 1,
        )
        for n, customer in enumerate(customers, start=1)
    ]  # fmt: skip
    subscription_rows, billed, invoice_rows = [], [], []
    for n, customer in enumerate(customers, start=1):
        invoice_id = uuid.UUID(int=rng.getrandbits(128))
        net = Decimal(0)
        for _ in range(per_customer):
            plan_id, product_id, partner_id, price = rng.choice(plans)
            quantity = rng.randrange(1, 30)
            net += price * quantity
            subscription_id = uuid.UUID(int=rng.getrandbits(128))
            entries = [[SINCE.isoformat(), str(plan_id), quantity, SINCE.isoformat()]]
            subscription_rows.append(
                (
                    subscription_id, customer, partner_id, product_id, plan_id, quantity, SINCE,
                    "active", SINCE, json.dumps(entries), SINCE, None, 2,
                )
            )  # fmt: skip
            billed.append((subscription_id, MONTH.starts_on, MONTH.ends_on, invoice_id, "[]"))
        vat = (net * Decimal("0.2")).quantize(Decimal("0.01"))
        # The close never reads an invoice's document: a stand-in keeps the rows the right size.
        invoice_rows.append(
            (
                invoice_id, f"СЧ-2025-{n:06d}", customer, "period", date(2025, 11, 1),
                date(2025, 11, 6), net, vat, net + vat, net + vat, "paid", 2,
                json.dumps({"number": f"СЧ-2025-{n:06d}", "note": "bench state"}),
            )
        )  # fmt: skip
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        copy = connection.copy_records_to_table
        await copy(
            "organizations",
            records=organizations,
            columns=[
                "organization_id", "kind", "legal_name", "short_name", "inn", "kpp",
                "legal_address", "edo_participant_id", "bank_name", "bik",
                "settlement_account", "correspondent_account", "version",
            ],
        )  # fmt: skip
        await copy(
            "catalog_products",
            records=[
                (product_id, partner_id, f"Сервис {i}", "published", 1)
                for i, (product_id, partner_id) in enumerate(products)
            ],
            columns=["product_id", "partner_id", "name", "status", "version"],
        )  # fmt: skip
        await copy(
            "catalog_plans",
            records=[
                (plan_id, product_id, "Стандарт", "month", "seat", "standard", price, None, None, 1)
                for plan_id, product_id, _, price in plans
            ],
            columns=[
                "plan_id", "product_id", "name", "billing_period", "pricing_unit", "vat_mode",
                "unit_price", "next_unit_price", "next_price_effective_on", "price_version",
            ],
        )  # fmt: skip
        await copy(
            "subscriptions",
            records=subscription_rows,
            columns=[
                "subscription_id", "customer_id", "partner_id", "product_id", "plan_id",
                "quantity", "period_anchor", "status", "starts_on", "entries",
                "service_starts_on", "service_ends_on", "version",
            ],
        )  # fmt: skip
        await copy(
            "billing_accounts",
            records=[(customer, "prepaid", 5, Decimal(0)) for customer in customers],
            columns=["customer_id", "terms_kind", "terms_days", "balance"],
        )
        await copy(
            "invoices",
            records=invoice_rows,
            columns=[
                "invoice_id", "number", "customer_id", "reason", "issued_on", "due_on",
                "amount_net", "vat_amount", "amount_total", "amount_paid", "status", "version",
                "document",
            ],
        )  # fmt: skip
        await copy(
            "billed_periods",
            records=billed,
            columns=[
                "subscription_id", "period_starts_on", "period_ends_on", "invoice_id", "segments",
            ],
        )  # fmt: skip
        await connection.execute(
            "INSERT INTO document_counters (kind, year, last_sequence)"
            " VALUES ('invoice', 2025, $1)",
            len(customers),
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return len(customers)


async def reset(url: str) -> None:
    """Back to the state before the close: no closing documents, events or UPD numbers."""
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        await connection.execute(
            "TRUNCATE closing_documents, outbox_messages, billing_runs;"
            " DELETE FROM document_counters WHERE kind = 'closing_document'"
        )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def measured_close(
    url: str, *, subscriptions: int, concurrency: int, close_batch: int
) -> Figures:
    engine = db.create_engine(url, pool_size=concurrency + 1)
    try:
        sessions = db.create_session_factory(engine)
        request = runs.RunRequest(runs.RunKind.PERIOD_CLOSE, MONTH.last_day, MONTH, "bench")
        rules = runs.RunRules(close_batch=close_batch)
        started = time.perf_counter()
        run = await runs.execute(sessions, SELLER, request, concurrency=concurrency, rules=rules)
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert run.customers_skipped == 0, run.skipped
    return Figures(round(seconds, 3), round(subscriptions / seconds, 1))


FLOOR_DOCUMENTS = """
WITH lines AS (
    SELECT s.customer_id, s.subscription_id, s.quantity, p.plan_id, p.product_id, p.unit_price,
           p.unit_price * s.quantity AS net,
           round(p.unit_price * s.quantity * 0.20, 2) AS vat,
           row_number() OVER (PARTITION BY s.customer_id
                              ORDER BY s.starts_on, s.subscription_id) AS line_no
    FROM subscriptions s JOIN catalog_plans p ON p.plan_id = s.plan_id
    WHERE s.service_starts_on < $2 AND (s.service_ends_on IS NULL OR s.service_ends_on > $1)
), documents AS (
    SELECT customer_id, sum(net) AS net, sum(vat) AS vat,
           jsonb_agg(jsonb_build_object(
               'line_no', line_no, 'description', 'Сервис', 'subscription_id', subscription_id,
               'product_id', product_id, 'plan_id', plan_id, 'period_start', $1::date,
               'period_end', $3::date, 'quantity', quantity, 'okei_code', '796',
               'unit_price', unit_price::text, 'amount_net', net::text, 'vat_mode', 'standard',
               'vat_rate', 20, 'vat_amount', vat::text, 'amount_total', (net + vat)::text)
               ORDER BY line_no) AS lines
    FROM lines GROUP BY customer_id
), numbered AS (
    SELECT d.*, gen_random_uuid() AS document_id,
           'УПД-2025-' || lpad((row_number() OVER (ORDER BY customer_id))::text, 6, '0') AS number
    FROM documents d
)
INSERT INTO closing_documents (document_id, number, customer_id, period_starts_on,
    period_ends_on, issued_on, amount_net, vat_amount, amount_total, document)
SELECT n.document_id, n.number, n.customer_id, $1, $2, $3, n.net, n.vat, n.net + n.vat,
       jsonb_build_object(
           'document_id', n.document_id, 'number', n.number, 'issued_on', $3::date,
           'seller', $4::jsonb,
           'buyer', jsonb_build_object('organization_id', o.organization_id,
                                       'legal_name', o.legal_name, 'inn', o.inn, 'kpp', o.kpp,
                                       'address', o.legal_address),
           'currency', 'RUB', 'lines', n.lines, 'amount_net', n.net::text,
           'vat_amount', n.vat::text, 'amount_total', (n.net + n.vat)::text,
           'period_start', $1::date, 'period_end', $3::date)
FROM numbered n JOIN organizations o ON o.organization_id = n.customer_id
"""

FLOOR_OUTBOX = """
WITH events AS (
    SELECT gen_random_uuid() AS id, d.document_id, d.customer_id, d.document
    FROM closing_documents d WHERE d.period_starts_on = $1
)
INSERT INTO outbox_messages (event_id, event_type, topic, message_key, lane, headers, payload)
SELECT e.id::text, 'ru.vitrina.billing.closing_document.issued', 'billing.invoices',
       e.document_id::text, abs(hashtext(e.document_id::text)) % 16,
       jsonb_build_array(jsonb_build_array('ce_id', e.id::text)),
       convert_to(jsonb_build_object(
           'specversion', '1.0', 'id', e.id, 'source', '/vitrina/billing',
           'type', 'ru.vitrina.billing.closing_document.issued', 'subject', e.document_id,
           'time', now(), 'datacontenttype', 'application/json', 'tenantid', e.customer_id,
           'aggregateversion', 1, 'data', jsonb_build_object('document', e.document))::text,
           'UTF8')
FROM events e
"""


async def floor_close(url: str, *, subscriptions: int) -> Figures:
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        seller_json = SELLER.model_dump_json()
        started = time.perf_counter()
        async with connection.transaction():
            await connection.execute(
                FLOOR_DOCUMENTS, MONTH.starts_on, MONTH.ends_on, MONTH.last_day, seller_json
            )
            await connection.execute(FLOOR_OUTBOX, MONTH.starts_on)
            await connection.execute(
                "INSERT INTO document_counters (kind, year, last_sequence)"
                " SELECT 'closing_document', 2025, count(*) FROM closing_documents"
            )
        seconds = time.perf_counter() - started
    finally:
        await connection.close()
    return Figures(round(seconds, 3), round(subscriptions / seconds, 1))


async def documented(url: str) -> tuple[int, Decimal, int]:
    """Closing documents, their grand total, and outbox rows: both sides must agree."""
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        row = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM closing_documents),"
            " (SELECT coalesce(sum(amount_total), 0) FROM closing_documents),"
            " (SELECT count(*) FROM outbox_messages)"
        )
        assert row is not None
        return int(row[0]), Decimal(row[1]), int(row[2])
    finally:
        await connection.close()


def median(figures: list[Figures]) -> dict[str, float]:
    return {
        "seconds": statistics.median(f.seconds for f in figures),
        "subscriptions_per_s": statistics.median(f.subscriptions_per_s for f in figures),
    }


async def measure(
    url: str,
    floor_url: str,
    *,
    subscriptions: int,
    per_customer: int,
    concurrency: int,
    close_batch: int,
    rounds: int,
) -> dict[str, object]:
    for each in (url, floor_url):
        upgrade(SERVICE.migrations, each)
    started = time.perf_counter()
    customers = await load(url, subscriptions=subscriptions, per_customer=per_customer)
    await load(floor_url, subscriptions=subscriptions, per_customer=per_customer)
    load_seconds = (time.perf_counter() - started) / 2
    floors, measured = [], []
    for _ in range(rounds):  # interleaved, so drift in the machine hits both alike
        await reset(floor_url)
        floors.append(await floor_close(floor_url, subscriptions=subscriptions))
        await reset(url)
        measured.append(
            await measured_close(
                url, subscriptions=subscriptions, concurrency=concurrency, close_batch=close_batch
            )
        )
    same, floor_same = await documented(url), await documented(floor_url)
    assert same == floor_same == (customers, same[1], customers), (same, floor_same)
    floor_figures, measured_figures = median(floors), median(measured)
    return {
        "benchmark": "billing_close",
        "subscriptions": subscriptions,
        "customers": customers,
        "concurrency": concurrency,
        "close_batch": close_batch,
        "rounds": rounds,
        "load_seconds": round(load_seconds, 2),
        "floor": {
            "name": "INSERT … SELECT of the documents and their outbox rows, bare asyncpg",
            **floor_figures,
        },
        "measured": {
            "name": (
                f"period_close billing run, {concurrency} transactions at once,"
                f" {close_batch} customers each"
            ),
            **measured_figures,
        },
        "ratio": round(
            measured_figures["subscriptions_per_s"] / floor_figures["subscriptions_per_s"], 3
        ),
    }


async def main(
    *,
    subscriptions: int,
    per_customer: int = 4,
    concurrency: int = 4,
    close_batch: int = CLOSE_BATCH,
    rounds: int = 3,
    postgres_url: str | None = None,
) -> dict[str, object]:
    """One result in ``bench/run.py``'s shape, in subscriptions per second."""
    home = Path(tempfile.mkdtemp(prefix="vitrina-bench-"))
    postgres = None
    if postgres_url is None:
        postgres = EmbeddedPostgres(home / "pg", keep_data=False).start()
        postgres_url = postgres.url("postgres")
    suffix = uuid.uuid4().hex[:8]
    url, floor_url = (
        make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        for name in (f"bench_billing_{suffix}", f"bench_billing_floor_{suffix}")
    )
    create_database(url)
    create_database(floor_url)
    try:
        return await measure(
            url,
            floor_url,
            subscriptions=subscriptions,
            per_customer=per_customer,
            concurrency=concurrency,
            close_batch=close_batch,
            rounds=rounds,
        )
    finally:
        drop_database(url)
        drop_database(floor_url)
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--per-customer", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--close-batch", type=int, default=CLOSE_BATCH)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("VITRINA_BENCH_POSTGRES_URL"),
        help="a PostgreSQL server to use instead of an embedded one",
    )
    args = parser.parse_args()
    result = asyncio.run(
        main(
            subscriptions=args.subscriptions,
            per_customer=args.per_customer,
            concurrency=args.concurrency,
            close_batch=args.close_batch,
            rounds=args.rounds,
            postgres_url=args.postgres_url,
        )
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))
