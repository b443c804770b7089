"""Importing a bank statement: every incoming payment to the operator's account is published
once as ``bank_payment.imported``, however many statements list it.

The request owns the transaction: the import's record, the payments and their outbox rows
commit together, and a malformed file fails before anything is written.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.bank.models import BankPaymentRow, StatementImport
from integrations.bank.statement import (
    BankStatement,
    Direction,
    PaymentDocument,
    StatementError,
    parse_statement,
)
from vitrina_contracts.events.base import inn_is_valid, kpp_is_valid
from vitrina_contracts.events.integrations import BankPayment, BankPaymentImported
from vitrina_kit.auth import Caller
from vitrina_kit.ops import OperatorOnly
from vitrina_kit.outbox import add_event
from vitrina_kit.pagination import Position, decode_cursor, encode_cursor
from vitrina_kit.problems import DomainError, NotFound

logger = logging.getLogger(__name__)

# bank_payment_id is derived from the payment's dedup key: the same payment has the same id in
# every statement and every environment, so billing's matching can refer to it stably.
BANK_PAYMENT_NAMESPACE = uuid.UUID("5f0c8f57-3d1e-4b8e-9a52-6c1f3b7d2e90")


class MalformedStatement(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "malformed_statement"
    title = "The file is not a readable 1CClientBankExchange statement"

    def __init__(self, error: StatementError) -> None:
        super().__init__(f"{error}. Nothing was imported.", line=error.line_no)


class OwnAccountUnknown(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "own_account_unknown"
    title = "Which account is the operator's cannot be told"


class StatementOfAnotherAccount(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "statement_of_another_account"
    title = "The statement is not of the operator's settlement account"


class StatementImportNotFound(NotFound):
    def __init__(self, import_id: uuid.UUID) -> None:
        super().__init__(f"No statement import {import_id}.")


@dataclass(frozen=True)
class Upload:
    data: bytes
    file_name: str | None = None


def own_account_of(statement: BankStatement, configured: str | None) -> str:
    """The operator's account: the configured one (the statement must be of it), or the one
    account the file's header names."""
    if configured is not None:
        if statement.accounts and configured not in statement.accounts:
            raise StatementOfAnotherAccount(
                f"The statement is of {', '.join(statement.accounts)}; the operator's "
                f"settlement account is {configured}."
            )
        return configured
    if len(statement.accounts) != 1:
        raise OwnAccountUnknown(
            "Set INTEGRATIONS_OPERATOR_ACCOUNT, or upload a statement whose header names "
            f"exactly one account (this one names {len(statement.accounts)})."
        )
    return statement.accounts[0]


def bank_payment_of(document: PaymentDocument) -> BankPayment | None:
    """The contract's view of an incoming payment; None when the bank gave too little to
    match it by (no 20-digit payer account)."""
    payer = document.payer
    if payer.account is None or not (payer.account.isdigit() and len(payer.account) == 20):
        return None
    return BankPayment(
        bank_payment_id=uuid.uuid5(BANK_PAYMENT_NAMESPACE, document.dedup_key),
        number=document.number,
        paid_on=document.received_on or document.issued_on,
        amount=document.amount,
        payer_name=payer.name,
        # Banks print what the payer typed: a bad check digit or a KPP of "0" (an
        # individual) is dropped rather than passed on as a requisite billing would trust.
        payer_inn=payer.inn if payer.inn and inn_is_valid(payer.inn) else None,
        payer_kpp=payer.kpp if payer.kpp and kpp_is_valid(payer.kpp) else None,
        payer_account=payer.account,
        payer_bank_bic=payer.bank_bic
        if payer.bank_bic and payer.bank_bic.isdigit() and len(payer.bank_bic) == 9
        else None,
        purpose=document.purpose,
    )


async def import_statement(
    session: AsyncSession,
    caller: Caller,
    upload: Upload,
    *,
    operator_account: str | None,
    now: datetime,
) -> StatementImport:
    """Parse the file whole, then store and publish each incoming payment not seen before."""
    if not caller.is_operator:
        raise OperatorOnly("Bank statements are imported by the marketplace operator.")
    try:
        statement = parse_statement(upload.data)
    except StatementError as error:
        raise MalformedStatement(error) from error
    own_account = own_account_of(statement, operator_account)
    record = StatementImport(
        import_id=uuid.uuid4(),
        imported_by=caller.organization_id,
        file_name=upload.file_name,
        file_sha256=hashlib.sha256(upload.data).hexdigest(),
        own_account=own_account,
        period_start=statement.period_start,
        period_end=statement.period_end,
        documents=len(statement.documents),
        imported=0,
        duplicates=0,
        skipped=0,
        created_at=now,
    )
    session.add(record)
    await session.flush()
    for document in statement.documents:
        payment = (
            bank_payment_of(document)
            if document.direction(own_account) is Direction.INCOMING
            else None
        )
        if payment is None:
            record.skipped += 1
        elif await _store(session, record, document, payment, now=now):
            record.imported += 1
        else:
            record.duplicates += 1
    await session.flush()
    logger.info(
        "bank statement imported",
        extra={
            "import_id": str(record.import_id),
            "imported": record.imported,
            "duplicates": record.duplicates,
            "skipped": record.skipped,
        },
    )
    return record


async def _store(
    session: AsyncSession,
    record: StatementImport,
    document: PaymentDocument,
    payment: BankPayment,
    *,
    now: datetime,
) -> bool:
    """Store the payment and its event; False if its dedup key was already there.

    ON CONFLICT DO NOTHING on the unique key: a concurrent import of an overlapping statement
    waits for this one's commit and then finds the row, so each payment is published once.
    """
    stored = await session.scalar(
        insert(BankPaymentRow)
        .values(
            bank_payment_id=payment.bank_payment_id,
            dedup_key=document.dedup_key,
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
            line_no=document.line_no,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[BankPaymentRow.dedup_key])
        .returning(BankPaymentRow.bank_payment_id)
    )
    if stored is None:
        return False
    await add_event(
        session,
        BankPaymentImported(bank_payment=payment),
        subject=str(payment.bank_payment_id),
        aggregate_version=1,
    )
    return True


async def list_imports(
    session: AsyncSession, caller: Caller, *, cursor: str | None, limit: int
) -> tuple[Sequence[StatementImport], str | None]:
    """The operator's import history, newest first."""
    if not caller.is_operator:
        raise OperatorOnly("Bank statements are the marketplace operator's.")
    query = select(StatementImport).order_by(
        StatementImport.created_at.desc(), StatementImport.import_id.desc()
    )
    after: Position | None = decode_cursor(cursor)
    if after is not None:
        query = query.where(
            tuple_(StatementImport.created_at, StatementImport.import_id) < tuple_(*after)
        )
    rows = (await session.scalars(query.limit(limit + 1))).all()
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor((page[-1].created_at, page[-1].import_id)) if more else None


async def get_import(
    session: AsyncSession, caller: Caller, import_id: uuid.UUID
) -> tuple[StatementImport, Sequence[BankPaymentRow]]:
    """One import with the payments it brought in (not those it found already imported)."""
    if not caller.is_operator:
        raise OperatorOnly("Bank statements are the marketplace operator's.")
    record = await session.get(StatementImport, import_id)
    if record is None:
        raise StatementImportNotFound(import_id)
    payments = await session.scalars(
        select(BankPaymentRow)
        .where(BankPaymentRow.import_id == import_id)
        .order_by(BankPaymentRow.line_no)
    )
    return record, payments.all()
