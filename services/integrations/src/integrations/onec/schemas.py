from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from vitrina_kit.api import ResponseModel

SyncStatus = Literal["pending", "synced", "failed"]


class OneCSyncRead(ResponseModel):
    """One billing document's state in the operator's 1C base."""

    document_id: uuid.UUID
    document_kind: Literal["invoice", "closing_document"]
    document_number: str
    buyer_organization_id: uuid.UUID
    status: SyncStatus
    revision: int = Field(description="Bumped each time billing re-sent the document changed.")
    synced_revision: int | None
    ref_key: uuid.UUID | None = Field(description="The 1C object's Ref_Key, once 1C named it.")
    counterparty_ref_key: uuid.UUID | None
    attempts: int = Field(description="Failed rounds since the last success.")
    next_attempt_at: datetime | None
    last_error: str | None
    synced_at: datetime | None
    created_at: datetime
    updated_at: datetime


class OneCSyncPage(ResponseModel):
    items: list[OneCSyncRead]
    next_cursor: str | None


class PaymentsPullRead(ResponseModel):
    """What a pull found in 1C."""

    read: int = Field(description="Posted receipts from customers read.")
    imported: int = Field(description="Published as bank_payment.imported now.")
    duplicates: int = Field(description="Already published (from a statement or a pull).")
    skipped: int = Field(description="Not to the operator's account, or no payer account.")
    bank_payment_ids: list[uuid.UUID]
