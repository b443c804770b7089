from __future__ import annotations

import email.policy
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from integrations.bank import service
from integrations.bank.schemas import (
    BankPaymentRead,
    StatementImportDetail,
    StatementImportPage,
    StatementImportRead,
)
from integrations.bank.service import Upload
from integrations.settings import IntegrationsSettings
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.problems import PROBLEM_RESPONSES, UnprocessableEntity

router = APIRouter(prefix="/bank-statements", tags=["bank statements"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Caller, requires("integrations:read")]
Writer = Annotated[Caller, requires("integrations:write")]


def _settings(request: Request) -> IntegrationsSettings:
    settings = request.app.state.settings
    assert isinstance(settings, IntegrationsSettings)
    return settings


SettingsDep = Annotated[IntegrationsSettings, Depends(_settings)]

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The statement file as exported by the client-bank (windows-1251), "
        "either as the raw body or as the `file` part of a form.",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


async def statement_upload(request: Request) -> Upload:
    """The file from the raw body, or from the ``file`` part of a multipart form.

    The standard library's MIME parser reads the form, so the service needs no form library
    for its one upload; the body size is already capped by the app's limit.
    """
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return Upload(data=body)
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    form = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    for part in form.iter_parts() if form.is_multipart() else ():
        assert isinstance(part, EmailMessage)
        if part.get_param("name", header="content-disposition") == "file":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                return Upload(data=data, file_name=part.get_filename())
    raise UnprocessableEntity("Send the statement as the raw body, or as the form's `file` part.")


@router.post("", status_code=201, response_model=StatementImportRead, openapi_extra=_UPLOAD_BODY)
async def import_statement(
    request: Request,
    caller: Writer,
    session: SessionDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Operator: import a 1CClientBankExchange statement. Each incoming payment to the
    operator's account is published once (`bank_payment.imported`); a malformed file is
    refused with the line at fault and nothing is imported."""
    upload = await statement_upload(request)
    return await idempotency.respond(
        lambda: service.import_statement(
            session,
            caller,
            upload,
            operator_account=settings.operator_account,
            now=datetime.now(UTC),
        ),
        response_model=StatementImportRead,
        location=lambda created: f"/bank-statements/{created.import_id}",
    )


@router.get("", response_model=StatementImportPage)
async def list_imports(
    caller: Reader,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> StatementImportPage:
    """Operator: the import history, newest first."""
    items, next_cursor = await service.list_imports(session, caller, cursor=cursor, limit=limit)
    return StatementImportPage(
        items=[StatementImportRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.get("/{import_id}", response_model=StatementImportDetail)
async def get_import(
    import_id: uuid.UUID, caller: Reader, session: SessionDep
) -> StatementImportDetail:
    """Operator: one import and the payments it published."""
    record, payments = await service.get_import(session, caller, import_id)
    return StatementImportDetail.model_validate(
        {
            **StatementImportRead.model_validate(record).model_dump(),
            "payments": [BankPaymentRead.model_validate(p) for p in payments],
        }
    )
