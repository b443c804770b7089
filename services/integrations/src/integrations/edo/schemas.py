from __future__ import annotations

import uuid
from datetime import datetime

from integrations.edo.domain import Status
from vitrina_kit.api import ResponseModel


class EdoDocumentRead(ResponseModel):
    edo_document_id: uuid.UUID
    document_id: uuid.UUID
    document_kind: str
    document_number: str
    buyer_organization_id: uuid.UUID
    sender_edo_id: str | None
    recipient_edo_id: str | None
    file_name: str | None
    status: Status
    operator_message_id: str | None
    reason: str | None
    send_rounds: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    answered_at: datetime | None


class EdoDocumentPage(ResponseModel):
    items: list[EdoDocumentRead]
    next_cursor: str | None
