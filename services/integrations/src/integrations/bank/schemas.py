from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from vitrina_kit.api import ResponseModel


class StatementImportRead(ResponseModel):
    """What an import did: payments new to Vitrina (published), payments already imported
    from an earlier statement, and documents that are not incoming payments to the operator."""

    import_id: uuid.UUID
    file_name: str | None
    file_sha256: str
    own_account: str
    period_start: date | None
    period_end: date | None
    documents: int = Field(description="Payment documents in the file.")
    imported: int = Field(description="Incoming payments published as bank_payment.imported.")
    duplicates: int = Field(description="Incoming payments an earlier import already published.")
    skipped: int = Field(
        description="Outgoing or unrelated documents, and incoming ones "
        "without a payer account to match by."
    )
    created_at: datetime


class StatementImportPage(ResponseModel):
    items: list[StatementImportRead]
    next_cursor: str | None


class BankPaymentRead(ResponseModel):
    bank_payment_id: uuid.UUID
    number: str
    paid_on: date
    amount: Decimal
    payer_name: str
    payer_inn: str | None
    payer_kpp: str | None
    payer_account: str
    payer_bank_bic: str | None
    purpose: str
    line_no: int


class StatementImportDetail(StatementImportRead):
    payments: list[BankPaymentRead]
