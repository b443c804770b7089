"""A business reads its documents (the operator reads everyone's); others' are 404."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from billing.invoices import service
from billing.invoices.printing import PrintFormat
from billing.invoices.schemas import (
    ClosingDocumentPage,
    ClosingDocumentRead,
    CreditNotePage,
    CreditNoteRead,
    InvoicePage,
    InvoiceRead,
)
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["documents"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Caller, requires("billing:read")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=200)]
CustomerFilter = Annotated[
    uuid.UUID | None, Query(description="Operator: one customer's documents only.")
]


@router.get("/invoices", response_model=InvoicePage)
async def list_invoices(
    caller: Reader,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    customer_id: CustomerFilter = None,
) -> InvoicePage:
    """The caller's invoices for payment, newest first."""
    items, next_cursor = await service.invoices_page(
        session, caller, cursor=cursor, limit=limit, customer_id=customer_id
    )
    return InvoicePage(
        items=[InvoiceRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.get("/invoices/{invoice_id}", response_model=InvoiceRead)
async def get_invoice(invoice_id: uuid.UUID, caller: Reader, session: SessionDep) -> InvoiceRead:
    return InvoiceRead.model_validate(await service.get_invoice(session, caller, invoice_id))


@router.get(
    "/invoices/{invoice_id}/print",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
async def print_invoice(
    invoice_id: uuid.UUID,
    caller: Reader,
    session: SessionDep,
    output: Annotated[PrintFormat, Query(alias="format")] = PrintFormat.HTML,
) -> Response:
    """The invoice as a printable page (or PDF), with the bank details needed to pay it."""
    printout = await service.printable_invoice(session, caller, invoice_id, output)
    return Response(
        printout.content,
        media_type=printout.format.media_type,
        headers={"Content-Disposition": printout.content_disposition},
    )


@router.get("/closing-documents", response_model=ClosingDocumentPage)
async def list_closing_documents(
    caller: Reader,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    customer_id: CustomerFilter = None,
) -> ClosingDocumentPage:
    """The caller's closing documents (UPD), newest first."""
    items, next_cursor = await service.closing_documents_page(
        session, caller, cursor=cursor, limit=limit, customer_id=customer_id
    )
    return ClosingDocumentPage(
        items=[ClosingDocumentRead.model_validate(item) for item in items],
        next_cursor=next_cursor,
    )


@router.get("/closing-documents/{document_id}", response_model=ClosingDocumentRead)
async def get_closing_document(
    document_id: uuid.UUID, caller: Reader, session: SessionDep
) -> ClosingDocumentRead:
    return ClosingDocumentRead.model_validate(
        await service.get_closing_document(session, caller, document_id)
    )


@router.get("/credit-notes", response_model=CreditNotePage)
async def list_credit_notes(
    caller: Reader,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    customer_id: CustomerFilter = None,
) -> CreditNotePage:
    """The caller's credit notes, newest first."""
    items, next_cursor = await service.credit_notes_page(
        session, caller, cursor=cursor, limit=limit, customer_id=customer_id
    )
    return CreditNotePage(
        items=[CreditNoteRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.get("/credit-notes/{document_id}", response_model=CreditNoteRead)
async def get_credit_note(
    document_id: uuid.UUID, caller: Reader, session: SessionDep
) -> CreditNoteRead:
    return CreditNoteRead.model_validate(
        await service.get_credit_note(session, caller, document_id)
    )
