"""Keeping the operator's 1C base in step with billing, and reading its incoming payments.

Three pieces, each in short transactions of its own (HTTP to 1C never holds a database lock):

1. ``record_document`` (the consumer, on ``invoice.issued`` / ``closing_document.issued``): the
   document is stored ``pending``. The same document sent again with other contents replaces
   the stored one and bumps its revision; sent again unchanged, it changes nothing.
2. ``sync_due`` (a periodic job): each due document is written to 1C — counterparty upserted,
   document found by its stored ``Ref_Key`` or else by number and year, then updated or created
   (and the sale posted). Quick retries with backoff on 5xx and timeouts, then later rounds
   spaced out; 1C's refusal of the data fails the document with 1C's words; a refused login
   stops the round for that connector at the first 401 (no storm against 1C's user lockout).
3. ``pull_payments`` (a periodic job and an operator call): posted receipts from customers since
   the connector's cursor, each published once as ``bank_payment.imported`` — through the bank
   import's own table and dedup key, so a payment that also came in a statement is not
   published twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from integrations import SERVICE_NAME
from integrations.bank.models import BankPaymentRow, StatementImport
from integrations.bank.service import bank_payment_of
from integrations.bank.statement import Direction
from integrations.connectors import repository as connectors
from integrations.connectors.client import ConnectorClient
from integrations.connectors.models import Connector
from integrations.edo.domain import next_send_delay
from integrations.onec import domain
from integrations.onec.domain import DocumentKind
from integrations.onec.models import OneCDocument, OneCPaymentCursor
from integrations.onec.odata import (
    PAGE_SIZE,
    OneCCredentialsRefused,
    OneCOData,
    OneCRefused,
    OneCUnavailable,
    parse_datetime,
)
from integrations.organizations.models import Organization
from integrations.settings import IntegrationsSettings
from vitrina_contracts.events.billing import (
    BillingDocument,
    ClosingDocument,
    InvoiceDocument,
    Party,
)
from vitrina_contracts.events.integrations import BankPaymentImported
from vitrina_kit import tracing
from vitrina_kit.db import transaction
from vitrina_kit.outbox import add_event
from vitrina_kit.vault import vault_for

logger = logging.getLogger(__name__)

ONEC_CONNECTOR = "onec_odata"
SYNC_BATCH = 20
MAX_PAYMENT_PAGES_PER_PULL = 50
ERROR_LENGTH = 4000


# -- 1. on invoice.issued / closing_document.issued -----------------------------------------------


async def record_document(
    session: AsyncSession, kind: DocumentKind, document: BillingDocument, *, now: datetime
) -> OneCDocument:
    """Queue ``document`` for 1C; a re-sent one with other contents is queued again."""
    payload = document.model_dump(mode="json")
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    # Locked: two deliveries of one document (a redelivery racing a re-send) queue it once.
    row = await session.get(OneCDocument, document.document_id, with_for_update=True)
    if row is None:
        row = OneCDocument(
            document_id=document.document_id,
            document_kind=kind,
            revision=1,
            attempts=0,
            status="pending",
            next_attempt_at=now,
        )
        session.add(row)
    elif row.payload_sha256 == digest:
        return row
    else:
        row.revision += 1
        row.status = "pending"
        row.attempts = 0
        row.next_attempt_at = now
    row.document_number = document.number
    row.seller_organization_id = document.seller.organization_id
    row.buyer_organization_id = document.buyer.organization_id
    row.payload = payload
    row.payload_sha256 = digest
    # The push to 1C belongs to the trace of the event that asked for it (its latest revision).
    row.traceparent = tracing.current_traceparent()
    await session.flush()
    return row


def billing_document(row: OneCDocument) -> BillingDocument:
    if row.document_kind == "invoice":
        return InvoiceDocument.model_validate(row.payload)
    return ClosingDocument.model_validate(row.payload)


async def retry_now(session: AsyncSession, row: OneCDocument, *, now: datetime) -> None:
    """The operator's nudge (after fixing the connector, or 1C's data): sync it at once."""
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = now
    await session.flush()
    await session.refresh(row)  # updated_at is set by the database


# -- 2. writing to 1C -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    ref_key: uuid.UUID
    counterparty_key: uuid.UUID


async def sync_due(
    sessions: async_sessionmaker[AsyncSession], settings: IntegrationsSettings
) -> int:
    """One round: every pending document that is due; how many were written to 1C."""
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        # Claimed with a lease rather than a lock held over HTTP: replicas skip each other's
        # rows, and a replica that dies mid-sync leaves its rows to another after the lease.
        due = (
            select(OneCDocument.document_id)
            .where(OneCDocument.status == "pending", OneCDocument.next_attempt_at <= now)
            .order_by(OneCDocument.next_attempt_at)
            .limit(SYNC_BATCH)
            .with_for_update(skip_locked=True)
        )
        claimed = (
            await session.execute(
                update(OneCDocument)
                .where(OneCDocument.document_id.in_(due.scalar_subquery()))
                .values(next_attempt_at=now + timedelta(seconds=settings.onec_sync_lease_seconds))
                .returning(OneCDocument.document_id, OneCDocument.traceparent)
            )
        ).all()
    refused: dict[uuid.UUID, str] = {}
    written = 0
    for document_id, traceparent in claimed:
        with tracing.continue_trace(
            SERVICE_NAME,
            traceparent,
            "onec push",
            attributes={"vitrina.document_id": str(document_id)},
        ):
            written += await _sync_one(sessions, settings, document_id, refused)
    return written


async def _sync_one(
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    document_id: uuid.UUID,
    refused: dict[uuid.UUID, str],
) -> bool:
    async with transaction(sessions) as session:
        row = await session.get(OneCDocument, document_id)
        assert row is not None  # claimed just now; rows are never deleted
        revision, known_ref = row.revision, row.ref_key
        kind = cast(DocumentKind, row.document_kind)
        document = billing_document(row)
        connector = await connectors.find(
            session, organization_id=row.seller_organization_id, kind=ONEC_CONNECTOR
        )
    if connector is None:
        return await _round_failed(
            sessions,
            settings,
            document_id,
            "у продавца нет включённого подключения 1С (onec_odata)",
        )
    if connector.connector_id in refused:
        # The login failed a moment ago in this round: asking again would only count against
        # the 1C user's lockout. The same error, the same spacing.
        return await _round_failed(sessions, settings, document_id, refused[connector.connector_id])

    async def remember(ref_key: uuid.UUID) -> None:
        # Stored the moment 1C names it; the lookup by number covers a crash before this.
        async with transaction(sessions) as session:
            await session.execute(
                update(OneCDocument)
                .where(OneCDocument.document_id == document_id)
                .values(ref_key=ref_key)
            )

    try:
        async with _client(sessions, settings, connector) as client:
            onec = OneCOData(client)
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(settings.onec_sync_attempts_per_round),
                wait=wait_exponential_jitter(
                    multiplier=settings.onec_sync_retry_base_seconds,
                    max=10,
                    jitter=settings.onec_sync_retry_base_seconds,
                ),
                retry=retry_if_exception_type(OneCUnavailable),
                reraise=True,
            ):
                with attempt:
                    written = await write_document(
                        onec,
                        kind,
                        document,
                        known_ref=known_ref,
                        organization_key=connector.options.get("organization_key"),
                        remember=remember,
                    )
                    known_ref = written.ref_key
    except OneCCredentialsRefused as error:
        logger.error(
            "1C refused the connector's login",
            extra={"connector_id": str(connector.connector_id), "error": str(error)},
        )
        refused[connector.connector_id] = str(error)
        return await _round_failed(sessions, settings, document_id, str(error))
    except OneCRefused as error:
        logger.error(
            "1C refused the document", extra={"document_id": str(document_id), "error": str(error)}
        )
        return await _refused(sessions, document_id, str(error))
    except OneCUnavailable as error:
        logger.warning(
            "1C sync round failed", extra={"document_id": str(document_id), "error": str(error)}
        )
        return await _round_failed(sessions, settings, document_id, str(error))
    async with transaction(sessions) as session:
        row = await session.get(OneCDocument, document_id, with_for_update=True)
        assert row is not None
        row.ref_key = written.ref_key
        row.counterparty_ref_key = written.counterparty_key
        row.synced_at = datetime.now(UTC)
        row.last_error = None
        row.attempts = 0
        if row.revision == revision:
            row.status = "synced"
            row.synced_revision = revision
            row.next_attempt_at = None
        else:
            row.next_attempt_at = datetime.now(UTC)  # re-sent meanwhile: write the new one too
    return True


async def write_document(
    onec: OneCOData,
    kind: DocumentKind,
    document: BillingDocument,
    *,
    known_ref: uuid.UUID | None,
    organization_key: str | None,
    remember: Callable[[uuid.UUID], Awaitable[None]],
) -> Written:
    """Write ``document`` to 1C as it is now: the counterparty upserted, the document updated
    where it is (by ``known_ref``, else found by number and year) or created, the sale posted.

    Safe to repeat after any failure: every step looks before it creates.
    """
    counterparty_key = await upsert_counterparty(onec, document.buyer)
    entity_set = domain.ENTITY_SET[kind]
    fields = domain.document_fields(
        kind, document, counterparty_key=counterparty_key, organization_key=organization_key
    )
    ref_key = known_ref
    if ref_key is None:
        found = await onec.find(
            entity_set, where=domain.document_filter(kind, document), select=["Ref_Key"], top=1
        )
        ref_key = uuid.UUID(found[0]["Ref_Key"]) if found else None
    # A stored Ref_Key whose object was deleted in 1C meanwhile: written anew.
    if ref_key is None or await onec.update(entity_set, ref_key, fields) is None:
        created = await onec.create(entity_set, fields)
        ref_key = uuid.UUID(created["Ref_Key"])
        await remember(ref_key)
    if domain.POSTED[kind]:
        await onec.post_document(entity_set, ref_key)
    return Written(ref_key=ref_key, counterparty_key=counterparty_key)


async def upsert_counterparty(onec: OneCOData, party: Party) -> uuid.UUID:
    """The buyer's ``Catalog_Контрагенты`` element: found by INN and KPP, its name brought up to
    date, or created."""
    found = await onec.find(
        domain.COUNTERPARTIES,
        where=domain.counterparty_filter(party),
        select=["Ref_Key", "Description", "НаименованиеПолное"],
        orderby="Code",
        top=1,
    )
    if not found:
        created = await onec.create(domain.COUNTERPARTIES, domain.counterparty_fields(party))
        return uuid.UUID(created["Ref_Key"])
    key = uuid.UUID(found[0]["Ref_Key"])
    changes = domain.counterparty_changes(found[0], party)
    if changes:
        await onec.update(domain.COUNTERPARTIES, key, changes)
    return key


async def _refused(
    sessions: async_sessionmaker[AsyncSession], document_id: uuid.UUID, error: str
) -> bool:
    async with transaction(sessions) as session:
        row = await session.get(OneCDocument, document_id, with_for_update=True)
        assert row is not None
        row.status = "failed"
        row.last_error = error[:ERROR_LENGTH]
        row.next_attempt_at = None
    return False


async def _round_failed(
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    document_id: uuid.UUID,
    error: str,
) -> bool:
    async with transaction(sessions) as session:
        row = await session.get(OneCDocument, document_id, with_for_update=True)
        assert row is not None
        if row.status != "pending":
            return False
        row.attempts += 1
        row.last_error = error[:ERROR_LENGTH]
        if row.attempts >= settings.onec_sync_max_rounds:
            row.status = "failed"
            row.next_attempt_at = None
            logger.error("1C sync failed for good", extra={"document_id": str(document_id)})
        else:
            delay = next_send_delay(
                row.attempts, base=timedelta(seconds=settings.onec_sync_interval_seconds)
            )
            row.next_attempt_at = datetime.now(UTC) + delay
    return False


# -- 3. incoming payments -------------------------------------------------------------------------


@dataclass
class PaymentsPulled:
    """What one pull found: receipts read, published as new, already published (by a statement
    or an earlier pull), and skipped (not to the operator's account, or no payer account)."""

    read: int = 0
    imported: int = 0
    duplicates: int = 0
    skipped: int = 0
    bank_payment_ids: list[uuid.UUID] = field(default_factory=list)

    def add(self, other: PaymentsPulled) -> None:
        self.read += other.read
        self.imported += other.imported
        self.duplicates += other.duplicates
        self.skipped += other.skipped
        self.bank_payment_ids += other.bank_payment_ids


async def operator_connectors(
    sessions: async_sessionmaker[AsyncSession], *, organization_id: uuid.UUID | None = None
) -> Sequence[Connector]:
    """The enabled 1C connectors of the operator (of ``organization_id``, if given): only the
    operator's base holds the marketplace's incoming payments."""
    query = select(Connector).where(Connector.kind == ONEC_CONNECTOR, Connector.enabled.is_(True))
    if organization_id is not None:
        query = query.where(Connector.organization_id == organization_id)
    else:
        operators = select(Organization.organization_id).where(Organization.kind == "operator")
        query = query.where(Connector.organization_id.in_(operators.scalar_subquery()))
    async with transaction(sessions) as session:
        return (await session.scalars(query.order_by(Connector.created_at))).all()


async def pull_all(
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    *,
    organization_id: uuid.UUID | None = None,
) -> PaymentsPulled:
    """Pull every operator 1C connector's payments; a connector that fails is logged and the
    others still pulled (its cursor stays, so nothing is skipped)."""
    total = PaymentsPulled()
    for connector in await operator_connectors(sessions, organization_id=organization_id):
        try:
            total.add(await pull_payments(sessions, settings, connector))
        except (OneCUnavailable, OneCCredentialsRefused, OneCRefused):
            logger.warning(
                "reading payments from 1C failed",
                extra={"connector_id": str(connector.connector_id)},
                exc_info=True,
            )
            if organization_id is not None:
                raise
    return total


async def pull_payments(
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    connector: Connector,
) -> PaymentsPulled:
    """Receipts dated from the cursor (less a look-back, for documents entered late with an
    earlier date) on; each page stored and the cursor moved in one transaction."""
    async with transaction(sessions) as session:
        cursor = await session.get(OneCPaymentCursor, connector.connector_id)
        read_until = cursor.read_until if cursor else None
    lookback = timedelta(days=settings.onec_payments_lookback_days)
    if read_until is not None:
        since = read_until.date() - lookback
    else:
        since = settings.onec_payments_first_date or datetime.now(UTC).date() - lookback
    pulled = PaymentsPulled()
    async with _client(sessions, settings, connector) as client:
        onec = OneCOData(client)
        for page_no in range(MAX_PAYMENT_PAGES_PER_PULL):
            receipts = await _receipts_page(settings, onec, since, skip=page_no * PAGE_SIZE)
            async with transaction(sessions) as session:
                pulled.add(
                    await _store_receipts(session, settings, connector, receipts, pulled.read)
                )
            if len(receipts) < PAGE_SIZE:
                break
    return pulled


async def _receipts_page(
    settings: IntegrationsSettings, onec: OneCOData, since: date, *, skip: int
) -> list[dict[str, Any]]:
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(settings.onec_sync_attempts_per_round),
        wait=wait_exponential_jitter(multiplier=settings.onec_sync_retry_base_seconds, max=10),
        retry=retry_if_exception_type(OneCUnavailable),
        reraise=True,
    ):
        with attempt:
            return await onec.find(
                domain.RECEIPTS,
                where=domain.receipts_filter(since),
                expand=domain.RECEIPT_EXPAND,
                orderby="Date,Ref_Key",
                top=PAGE_SIZE,
                skip=skip,
            )
    raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover


async def _store_receipts(
    session: AsyncSession,
    settings: IntegrationsSettings,
    connector: Connector,
    receipts: Sequence[dict[str, Any]],
    offset: int,
) -> PaymentsPulled:
    pulled = PaymentsPulled(read=len(receipts))
    now = datetime.now(UTC)
    # Created only when a page brings something new: a pull every few minutes that finds
    # nothing leaves no trace in the import history.
    imports: dict[str, StatementImport] = {}
    latest: datetime | None = None
    for position, receipt in enumerate(receipts, start=offset + 1):
        dated = parse_datetime(receipt["Date"])
        latest = dated if latest is None else max(latest, dated)
        order = domain.payment_document(receipt, position=position)
        own_account = order.recipient.account
        payment = (
            bank_payment_of(order)
            if own_account is not None
            and order.direction(settings.operator_account or own_account) is Direction.INCOMING
            else None
        )
        if payment is None or own_account is None:
            pulled.skipped += 1
            continue
        record = imports.get(own_account)
        if record is None:
            record = imports[own_account] = StatementImport(
                import_id=uuid.uuid4(),
                imported_by=connector.organization_id,
                file_name=f"1С: {domain.RECEIPTS} ({connector.name})"[:255],
                file_sha256=hashlib.sha256(
                    "|".join(r["Ref_Key"] for r in receipts).encode()
                ).hexdigest(),
                own_account=own_account,
                documents=0,
                imported=0,
                duplicates=0,
                skipped=0,
                created_at=now,
            )
            session.add(record)
            await session.flush()
        record.documents += 1
        stored = await session.scalar(
            insert(BankPaymentRow)
            .values(
                bank_payment_id=payment.bank_payment_id,
                dedup_key=order.dedup_key,
                import_id=record.import_id,
                number=payment.number,
                paid_on=payment.paid_on,
                amount=payment.amount,
                payer_name=payment.payer_name,
                payer_inn=payment.payer_inn,
                payer_kpp=payment.payer_kpp,
                payer_account=payment.payer_account,
                payer_bank_bic=payment.payer_bank_bic,
                purpose=payment.purpose,
                line_no=order.line_no,
                created_at=now,
            )
            # The bank import's unique key: a payment a statement brought first is not new.
            .on_conflict_do_nothing(index_elements=[BankPaymentRow.dedup_key])
            .returning(BankPaymentRow.bank_payment_id)
        )
        if stored is None:
            record.duplicates += 1
            pulled.duplicates += 1
            continue
        record.imported += 1
        pulled.imported += 1
        pulled.bank_payment_ids.append(payment.bank_payment_id)
        await add_event(
            session,
            BankPaymentImported(bank_payment=payment),
            subject=str(payment.bank_payment_id),
            aggregate_version=1,
        )
    if latest is not None:
        await _advance_cursor(session, connector.connector_id, latest)
    await session.flush()
    return pulled


async def _advance_cursor(session: AsyncSession, connector_id: uuid.UUID, latest: datetime) -> None:
    statement = insert(OneCPaymentCursor).values(connector_id=connector_id, read_until=latest)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[OneCPaymentCursor.connector_id],
            # Never backwards: a replica finishing an older page late must not rewind it.
            set_={
                "read_until": func.greatest(
                    OneCPaymentCursor.read_until, statement.excluded.read_until
                ),
                "updated_at": datetime.now(UTC),
            },
        )
    )


# -- shared ---------------------------------------------------------------------------------------


def _client(
    sessions: async_sessionmaker[AsyncSession], settings: IntegrationsSettings, connector: Connector
) -> ConnectorClient:
    return ConnectorClient(
        connector,
        sessions=sessions,
        vault=vault_for(settings.connector_encryption_keys.get_secret_value()),
        refresh_leeway=timedelta(seconds=settings.oauth_refresh_leeway_seconds),
        timeout=settings.connector_timeout_seconds,
    )
