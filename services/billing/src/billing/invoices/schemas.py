"""What the documents API returns: each document's state, and its contract form whole."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from vitrina_contracts.events.billing import ClosingDocument, CreditNote, InvoiceDocument
from vitrina_kit.api import ResponseModel


class InvoiceRead(ResponseModel):
    invoice_id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    reason: str = Field(description="period: a first period or a renewal; change: charges.")
    status: str
    issued_on: date
    due_on: date
    amount_total: Decimal
    amount_paid: Decimal
    created_at: datetime
    document: InvoiceDocument


class InvoicePage(ResponseModel):
    items: list[InvoiceRead]
    next_cursor: str | None


class ClosingDocumentRead(ResponseModel):
    document_id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    issued_on: date
    amount_total: Decimal
    created_at: datetime
    document: ClosingDocument


class ClosingDocumentPage(ResponseModel):
    items: list[ClosingDocumentRead]
    next_cursor: str | None


class CreditNoteRead(ResponseModel):
    document_id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    corrected_invoice_id: uuid.UUID
    issued_on: date
    amount_total: Decimal
    created_at: datetime
    document: CreditNote


class CreditNotePage(ResponseModel):
    items: list[CreditNoteRead]
    next_cursor: str | None
