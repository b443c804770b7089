from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from integrations.edo import repository
from integrations.edo.domain import Status
from integrations.edo.schemas import EdoDocumentPage, EdoDocumentRead
from integrations.edo.upd import ENCODING
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.pagination import decode_cursor, encode_cursor
from vitrina_kit.problems import PROBLEM_RESPONSES, NotFound

router = APIRouter(prefix="/edo/documents", tags=["EDO"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Caller, requires("integrations:read")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=200)]


class EdoDocumentNotFound(NotFound):
    code = "edo_document_not_found"

    def __init__(self, edo_document_id: uuid.UUID) -> None:
        super().__init__(f"No EDO document {edo_document_id}.")


@router.get("", response_model=EdoDocumentPage)
async def list_edo_documents(
    caller: Reader,
    session: SessionDep,
    status: Status | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> EdoDocumentPage:
    """The caller's documents sent by EDO, oldest first (the operator sees everyone's)."""
    items = await repository.page(
        session, caller, status=status, after=decode_cursor(cursor), limit=limit
    )
    last = items[-1] if len(items) == limit else None
    return EdoDocumentPage(
        items=[EdoDocumentRead.model_validate(item) for item in items],
        next_cursor=encode_cursor((last.created_at, last.edo_document_id)) if last else None,
    )


@router.get("/{edo_document_id}", response_model=EdoDocumentRead)
async def get_edo_document(
    edo_document_id: uuid.UUID, caller: Reader, session: SessionDep
) -> EdoDocumentRead:
    document = await repository.visible(session, caller, edo_document_id)
    if document is None:
        raise EdoDocumentNotFound(edo_document_id)
    return EdoDocumentRead.model_validate(document)


@router.get(
    "/{edo_document_id}/xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "The UPD as sent."}},
)
async def download_edo_document(
    edo_document_id: uuid.UUID, caller: Reader, session: SessionDep
) -> Response:
    """The UPD file exactly as it was sent (windows-1251), named after its @ИдФайл."""
    document = await repository.visible(session, caller, edo_document_id, with_content=True)
    if document is None or document.content is None or document.file_name is None:
        raise EdoDocumentNotFound(edo_document_id)
    return Response(
        content=document.content,
        media_type=f"application/xml; charset={ENCODING}",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.file_name)}"
        },
    )
