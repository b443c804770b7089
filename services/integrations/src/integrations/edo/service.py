"""Sending billing's closing documents to the buyers by EDO, and following them to an answer.

Three steps, each in its own short transactions:

1. ``record_closing_document`` (the consumer, on ``closing_document.issued``): build the UPD and
   validate it. An invalid one fails loudly there (``edo_document.failed``, logged) and is never
   sent nor retried; a valid one is stored ``pending``. One row per closing document, so a
   redelivered event changes nothing. A party without an EDO participant id yet is not an
   invalid document, nor a reason to fail the event (its other effects, the buyer's webhooks
   among them, must not wait for it): the document is stored ``awaiting_participant`` with the
   closing document it is to be built from, and built once the id is known — when identity's
   organization event arrives (``build_awaiting``, in that event's transaction), or at the
   latest by the sender's round, which rechecks waiting documents now and then.
2. ``send_due`` (a periodic job): post pending documents to the operator, with quick retries
   on 5xx and timeouts, then later rounds spaced out; ``edo_document.sent`` once accepted. The
   operator's ``operationId`` is our ``edo_document_id``, so a send whose answer was lost and is
   repeated yields the same message, never a second one.
3. ``track`` (a periodic job): read the operator's docflow events after the saved cursor →
   ``delivered`` → ``signed`` or ``rejected`` with the buyer's reason.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import undefer
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from integrations import SERVICE_NAME
from integrations.connectors import repository as connectors
from integrations.connectors.client import ConnectorClient
from integrations.connectors.models import Connector
from integrations.connectors.oauth import ConnectorAuthError, TokenEndpointUnavailable
from integrations.edo import domain, metrics
from integrations.edo.models import EdoDocument, EdoEventCursor
from integrations.edo.operator import (
    DocflowEvent,
    EdoOperator,
    OperatorRefused,
    OperatorUnavailable,
)
from integrations.edo.upd import InvalidUpd, Signer, build_upd
from integrations.organizations.projection import edo_participant_id
from integrations.settings import IntegrationsSettings
from vitrina_contracts.events import integrations as contract
from vitrina_contracts.events.billing import ClosingDocument
from vitrina_kit import tracing
from vitrina_kit.db import transaction
from vitrina_kit.outbox import add_event
from vitrina_kit.vault import vault_for

logger = logging.getLogger(__name__)

EDO_CONNECTOR = "edo_operator"
AWAITING_PARTICIPANT = "awaiting_participant"
SEND_BATCH = 20
MAX_EVENT_PAGES_PER_ROUND = 20


def missing_participants(
    closing: ClosingDocument, *, sender: str | None, receiver: str | None
) -> str:
    """Why a document cannot be addressed yet: which party has no EDO participant id."""
    missing = [
        f"{role} {party.organization_id}"
        for role, party, known in (
            ("seller", closing.seller, sender),
            ("buyer", closing.buyer, receiver),
        )
        if known is None
    ]
    return f"closing document {closing.number}: no EDO participant id for the " + (
        " and the ".join(missing)
    )


def signer_of(settings: IntegrationsSettings) -> Signer:
    return Signer(
        last_name=settings.edo_signer_last_name,
        first_name=settings.edo_signer_first_name,
        middle_name=settings.edo_signer_middle_name,
        position=settings.edo_signer_position,
    )


# -- 1. on closing_document.issued ----------------------------------------------------------------


async def record_closing_document(
    session: AsyncSession, closing: ClosingDocument, *, signer: Signer, now: datetime
) -> EdoDocument | None:
    """Build and validate the UPD for ``closing`` and queue it for sending (or keep it waiting
    for a party's EDO participant id); None if this document is already known (a redelivered
    or re-published event)."""
    if await session.scalar(
        select(EdoDocument.edo_document_id).where(EdoDocument.document_id == closing.document_id)
    ):
        return None
    document = EdoDocument(
        edo_document_id=uuid.uuid4(),
        document_id=closing.document_id,
        document_kind="closing_document",
        document_number=closing.number,
        buyer_organization_id=closing.buyer.organization_id,
        seller_organization_id=closing.seller.organization_id,
        version=0,
        send_rounds=0,
        # Sending and tracking it continue the trace of the closing document's event.
        traceparent=tracing.current_traceparent(),
    )
    session.add(document)
    await _build(session, document, closing, signer=signer, now=now)
    return document


async def build_awaiting(
    session: AsyncSession,
    *,
    signer: Signer,
    now: datetime,
    organization_id: uuid.UUID | None = None,
    recheck_after: timedelta | None = None,
) -> int:
    """Build the waiting documents of ``organization_id`` (as buyer or seller), or else the
    waiting documents due for a recheck, whose parties' EDO ids are now known; how many left
    the wait (queued, or failed as invalid)."""
    query = select(EdoDocument).where(EdoDocument.status == AWAITING_PARTICIPANT)
    if organization_id is not None:
        query = query.where(
            (EdoDocument.buyer_organization_id == organization_id)
            | (EdoDocument.seller_organization_id == organization_id)
        )
        # Locked, not skipped: a sender round holding one finishes first, and the document is
        # then seen in its new state (no longer waiting) instead of being missed.
        query = query.with_for_update()
    else:
        query = (
            query.where(EdoDocument.next_attempt_at <= now)
            .order_by(EdoDocument.next_attempt_at)
            .limit(SEND_BATCH)
            .with_for_update(skip_locked=True)
        )
    waiting = (await session.scalars(query.options(undefer(EdoDocument.closing_document)))).all()
    built = 0
    for document in waiting:
        assert document.closing_document is not None  # kept for as long as it waits
        closing = ClosingDocument.model_validate(document.closing_document)
        await _build(session, document, closing, signer=signer, now=now)
        if document.status == AWAITING_PARTICIPANT:
            if recheck_after is not None:
                document.next_attempt_at = now + recheck_after
        else:
            built += 1
    await session.flush()
    return built


async def _build(
    session: AsyncSession,
    document: EdoDocument,
    closing: ClosingDocument,
    *,
    signer: Signer,
    now: datetime,
) -> None:
    """Address and build the UPD of ``document``: ``pending`` if valid, ``failed`` (published)
    if not, still ``awaiting_participant`` if a party's EDO id is not known yet."""
    # Identity's word on EDO ids is the latest; the document's copy is what billing printed.
    sender = await edo_participant_id(session, closing.seller.organization_id)
    receiver = await edo_participant_id(session, closing.buyer.organization_id)
    sender = sender or closing.seller.edo_participant_id
    receiver = receiver or closing.buyer.edo_participant_id
    if sender is None or receiver is None:
        # Not the document's fault: identity's event may simply not be here yet (topics are not
        # ordered with each other). It waits, visible to the operator with the reason.
        if document.status != AWAITING_PARTICIPANT:
            logger.warning(
                "closing document waits for an EDO participant id",
                extra={"document_id": str(closing.document_id)},
            )
        document.status = AWAITING_PARTICIPANT
        document.closing_document = closing.model_dump(mode="json")
        document.last_error = missing_participants(closing, sender=sender, receiver=receiver)
        document.next_attempt_at = document.next_attempt_at or now
        await session.flush()
        return
    document.sender_edo_id = sender
    document.recipient_edo_id = receiver
    document.closing_document = None
    document.last_error = None
    try:
        upd = build_upd(
            closing, signer=signer, formed_at=now, sender_edo_id=sender, receiver_edo_id=receiver
        )
    except InvalidUpd as error:
        # Loud and final: a document that breaks the format would break it on every retry.
        logger.error(
            "closing document cannot become a valid UPD; not sent",
            extra={"document_id": str(closing.document_id), "errors": list(error.errors)},
        )
        document.status = "failed"
        document.reason = str(error)[:4000]
        document.next_attempt_at = None
        await session.flush()
        await _publish(session, document, contract.EdoDocumentFailed, reason=document.reason)
        return
    document.file_name = upd.file_name
    document.content = upd.content
    document.status = "pending"
    document.next_attempt_at = now
    await session.flush()


# -- 2. sending -----------------------------------------------------------------------------------


async def send_due(
    sessions: async_sessionmaker[AsyncSession], settings: IntegrationsSettings
) -> int:
    """One round of the sender: every pending document that is due; how many were accepted."""
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        # The safety net for documents whose participant's organization event was applied
        # while their own event was being handled (each saw the other not yet committed).
        await build_awaiting(
            session,
            signer=signer_of(settings),
            now=now,
            recheck_after=timedelta(seconds=settings.edo_awaiting_recheck_seconds),
        )
    async with transaction(sessions) as session:
        # Claimed with a lease instead of a lock held over HTTP: transactions stay short, and
        # a replica that dies mid-send leaves the document to another after the lease.
        due = (
            select(EdoDocument.edo_document_id)
            .where(EdoDocument.status == "pending", EdoDocument.next_attempt_at <= now)
            .order_by(EdoDocument.next_attempt_at)
            .limit(SEND_BATCH)
            .with_for_update(skip_locked=True)
        )
        claimed = (
            await session.execute(
                update(EdoDocument)
                .where(EdoDocument.edo_document_id.in_(due.scalar_subquery()))
                .values(next_attempt_at=now + timedelta(seconds=settings.edo_send_lease_seconds))
                .returning(EdoDocument.edo_document_id, EdoDocument.traceparent)
            )
        ).all()
    accepted = 0
    for edo_document_id, traceparent in claimed:
        with tracing.continue_trace(
            SERVICE_NAME,
            traceparent,
            "edo send",
            attributes={"vitrina.edo_document_id": str(edo_document_id)},
        ):
            accepted += await _send_one(sessions, settings, edo_document_id)
    return accepted


async def _send_one(
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    edo_document_id: uuid.UUID,
) -> bool:
    async with transaction(sessions) as session:
        document = await session.get(
            EdoDocument, edo_document_id, options=[undefer(EdoDocument.content)]
        )
        assert document is not None  # claimed just now; documents are never deleted
        content = document.content
        connector = await connectors.find(
            session, organization_id=document.seller_organization_id, kind=EDO_CONNECTOR
        )
    if connector is None:
        return await _round_failed(
            sessions, settings, edo_document_id, "the seller has no enabled EDO connector"
        )
    # A pending document was built: it has its file and its recipient.
    assert content is not None
    assert document.file_name
    assert document.recipient_edo_id
    try:
        async with _client(sessions, settings, connector) as client:
            operator = EdoOperator(client)
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(settings.edo_send_attempts_per_round),
                wait=wait_exponential_jitter(
                    multiplier=settings.edo_send_retry_base_seconds, max=10
                ),
                retry=retry_if_exception_type((OperatorUnavailable, TokenEndpointUnavailable)),
                reraise=True,
            ):
                with attempt:
                    message_id = await operator.post_message(
                        from_box=connector.options["box_id"],
                        to_box=document.recipient_edo_id,
                        file_name=document.file_name,
                        content=content,
                        document_id=str(document.document_id),
                        operation_id=str(document.edo_document_id),
                    )
    except OperatorRefused as error:
        return await _refused(sessions, edo_document_id, connector, error)
    except (OperatorUnavailable, TokenEndpointUnavailable, ConnectorAuthError) as error:
        logger.warning(
            "EDO send round failed",
            extra={"edo_document_id": str(edo_document_id), "error": str(error)},
        )
        return await _round_failed(sessions, settings, edo_document_id, str(error))
    async with transaction(sessions) as session:
        document = await _locked(session, edo_document_id)
        if document.status != "pending":
            return False  # another replica recorded it (the same message: same operationId)
        document.status = "sent"
        document.connector_id = connector.connector_id
        document.operator_message_id = message_id
        document.sent_at = datetime.now(UTC)
        document.next_attempt_at = None
        document.last_error = None
        await _publish(session, document, contract.EdoDocumentSent)
    return True


async def _refused(
    sessions: async_sessionmaker[AsyncSession],
    edo_document_id: uuid.UUID,
    connector: Connector,
    error: OperatorRefused,
) -> bool:
    logger.error(
        "the EDO operator refused the document",
        extra={"edo_document_id": str(edo_document_id), "error": str(error)},
    )
    async with transaction(sessions) as session:
        document = await _locked(session, edo_document_id)
        if document.status == "pending":
            document.status = "failed"
            document.connector_id = connector.connector_id
            document.reason = f"Оператор ЭДО отклонил документ: {error}"[:4000]
            document.next_attempt_at = None
            await _publish(session, document, contract.EdoDocumentFailed, reason=document.reason)
    return False


async def _round_failed(
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    edo_document_id: uuid.UUID,
    error: str,
) -> bool:
    async with transaction(sessions) as session:
        document = await _locked(session, edo_document_id)
        if document.status != "pending":
            return False
        document.send_rounds += 1
        document.last_error = error[:4000]
        if document.send_rounds >= settings.edo_send_max_rounds:
            document.status = "failed"
            document.next_attempt_at = None
            document.reason = f"Не отправлен после {document.send_rounds} попыток: {error}"[:4000]
            logger.error(
                "EDO document failed for good", extra={"edo_document_id": str(edo_document_id)}
            )
            await _publish(session, document, contract.EdoDocumentFailed, reason=document.reason)
        else:
            delay = domain.next_send_delay(
                document.send_rounds,
                base=timedelta(seconds=settings.edo_send_interval_seconds),
            )
            document.next_attempt_at = datetime.now(UTC) + delay
    return False


# -- 3. tracking ----------------------------------------------------------------------------------


async def track(sessions: async_sessionmaker[AsyncSession], settings: IntegrationsSettings) -> int:
    """One round of the tracker over every connector with documents awaiting an answer; how
    many status changes it recorded."""
    async with transaction(sessions) as session:
        waiting = await session.scalars(
            select(Connector).where(
                Connector.connector_id.in_(
                    select(EdoDocument.connector_id)
                    .where(EdoDocument.status.in_(("sent", "delivered")))
                    .distinct()
                    .scalar_subquery()
                )
            )
        )
        awaiting = list(waiting)
    changes = 0
    for connector in awaiting:
        try:
            changes += await _track_connector(sessions, settings, connector)
        except (OperatorUnavailable, OperatorRefused, TokenEndpointUnavailable, ConnectorAuthError):
            # Nothing is lost: the cursor was not moved, the next round reads the same events.
            logger.warning(
                "reading the EDO operator's events failed",
                extra={"connector_id": str(connector.connector_id)},
                exc_info=True,
            )
    return changes


async def _track_connector(
    sessions: async_sessionmaker[AsyncSession],
    settings: IntegrationsSettings,
    connector: Connector,
) -> int:
    changes = 0
    async with _client(sessions, settings, connector) as client:
        operator = EdoOperator(client)
        for _ in range(MAX_EVENT_PAGES_PER_ROUND):
            async with transaction(sessions) as session:
                cursor = await session.get(EdoEventCursor, connector.connector_id)
                after = cursor.after_index_key if cursor else None
            page = await operator.new_events(
                box_id=connector.options["box_id"], after_index_key=after
            )
            async with transaction(sessions) as session:
                cursor = await session.get(
                    EdoEventCursor, connector.connector_id, with_for_update=True
                )
                if (cursor.after_index_key if cursor else None) != after:
                    return changes  # another replica read this page meanwhile
                for event in page.events:
                    changes += await _apply(session, connector, event)
                if cursor is None:
                    session.add(
                        EdoEventCursor(
                            connector_id=connector.connector_id, after_index_key=page.last_index_key
                        )
                    )
                else:
                    cursor.after_index_key = page.last_index_key
            if page.complete:
                break
    return changes


async def _apply(session: AsyncSession, connector: Connector, event: DocflowEvent) -> int:
    document = await session.scalar(
        select(EdoDocument)
        .where(
            EdoDocument.connector_id == connector.connector_id,
            EdoDocument.operator_message_id == event.message_id,
        )
        .with_for_update()
    )
    if document is None:
        return 0  # a message not sent by us (or by another system on the same box)
    steps = domain.transitions(document.status, event.kind)
    if not steps:
        return 0
    now = datetime.now(UTC)
    # The buyer's answer joins the document's trace (the page was read for many documents).
    with tracing.continue_trace(
        SERVICE_NAME,
        document.traceparent,
        "edo track",
        attributes={"vitrina.edo_document_id": str(document.edo_document_id)},
    ):
        for step in steps:
            document.status = step
            if step == "delivered":
                document.delivered_at = now
                await _publish(session, document, contract.EdoDocumentDelivered)
            elif step == "signed":
                document.answered_at = now
                await _publish(session, document, contract.EdoDocumentSigned)
            else:
                document.answered_at = now
                # The operator requires a comment on a rejection; an empty one still needs words.
                document.reason = (event.comment or "").strip() or "Причина не указана"
                await _publish(
                    session, document, contract.EdoDocumentRejected, reason=document.reason
                )
    return len(steps)


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


async def _locked(session: AsyncSession, edo_document_id: uuid.UUID) -> EdoDocument:
    document = await session.get(EdoDocument, edo_document_id, with_for_update=True)
    assert document is not None  # documents are never deleted
    return document


def snapshot(document: EdoDocument) -> contract.EdoDocument:
    return contract.EdoDocument(
        edo_document_id=document.edo_document_id,
        document_id=document.document_id,
        document_kind="closing_document",
        document_number=document.document_number,
        # The contract requires a string; an unknown participant id is the empty one.
        recipient_edo_id=document.recipient_edo_id or "",
        file_name=document.file_name.removesuffix(".xml") if document.file_name else None,
        operator_message_id=document.operator_message_id,
        status=document.status,
    )


async def _publish(
    session: AsyncSession,
    document: EdoDocument,
    event_type: type[contract.EdoDocumentSent]
    | type[contract.EdoDocumentDelivered]
    | type[contract.EdoDocumentSigned]
    | type[contract.EdoDocumentRejected]
    | type[contract.EdoDocumentFailed],
    **fields: Any,
) -> None:
    document.version += 1
    metrics.transitioned(document.status)
    event = event_type(edo_document=snapshot(document), **fields)
    await add_event(
        session,
        event,
        subject=event.aggregate_id(),
        aggregate_version=document.version,
        tenant_id=str(document.buyer_organization_id),
    )
