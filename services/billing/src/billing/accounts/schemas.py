from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import Field

from billing.accounts.domain import MAX_PAYMENT_DAYS, PaymentTermsKind
from vitrina_kit.api import RequestModel, ResponseModel


class PaymentTermsWrite(RequestModel):
    kind: PaymentTermsKind
    days: int = Field(
        ge=0,
        le=MAX_PAYMENT_DAYS,
        description="prepaid: days to pay from the invoice's date; postpaid: net days after "
        "the service period ends.",
    )


class AccountRead(ResponseModel):
    customer_id: uuid.UUID
    terms_kind: PaymentTermsKind
    terms_days: int
    balance: Decimal = Field(description="Advances not applied to any invoice yet.")
