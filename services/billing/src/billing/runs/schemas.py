from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from billing.runs.service import RunKind
from vitrina_kit.api import RequestModel, ResponseModel


class RunCreate(RequestModel):
    kind: RunKind
    date: dt.date = Field(
        description="renewals: invoice the periods containing this day (not after today); "
        "period_close: close the calendar month of this day (once it is over); dunning: the "
        "check as of this day (not after today); settlements: partners' settlements for the "
        "calendar month of this day (once it is over)."
    )


class SkippedCustomer(ResponseModel):
    customer_id: uuid.UUID
    reason: str


class RunRead(ResponseModel):
    run_id: uuid.UUID
    kind: RunKind
    run_on: dt.date
    period_starts_on: dt.date
    period_ends_on: dt.date
    status: str
    requested_by: str | None
    customers: int = Field(
        description="Customers the run had work for (partners, for settlements)."
    )
    documents_issued: int = Field(
        description="Invoices, closing documents or settlements issued; for dunning, the "
        "invoices newly marked overdue."
    )
    customers_skipped: int
    skipped: list[SkippedCustomer] = Field(description="Up to 100, with the reason.")
    started_at: dt.datetime
    finished_at: dt.datetime | None


class RunPage(ResponseModel):
    items: list[RunRead]
    next_cursor: str | None
