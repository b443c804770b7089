"""Events of the integrations service: EDO deliveries, bank statements, partner provisioning."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field

from vitrina_contracts.events import _samples as s
from vitrina_contracts.events.base import ContractModel, Currency, Event, Inn, Kpp, Money

EDO = "integrations.edo"
BANK = "integrations.bank"
PROVISIONING = "integrations.provisioning"

DocumentKind = Literal["invoice", "closing_document", "credit_note"]
EdoStatus = Literal["sent", "delivered", "signed", "rejected", "failed"]


class EdoDocument(ContractModel):
    """A billing document's journey through the EDO operator."""

    edo_document_id: UUID = Field(description="The delivery, as integrations tracks it.")
    document_id: UUID = Field(description="The billing document delivered.")
    document_kind: DocumentKind
    document_number: str
    recipient_edo_id: str = Field(description="The buyer's participant id at the EDO operator.")
    file_name: str | None = Field(
        default=None, description="The UPD file name, equal to its @ИдФайл."
    )
    operator_message_id: str | None = Field(
        default=None, description="The EDO operator's id of the message; None if never accepted."
    )
    status: EdoStatus


_UPD_FILE = (
    "ON_NSCHFDOPPR_2BM-5012345672-501201001-000000000000042_"
    "2BM-7704123450-770401001-000000000000001_20251231_"
    "7a3c5e7f-9b1d-4f3a-8c5e-7f9b1d3f0001"
)


def _edo_document(status: EdoStatus) -> EdoDocument:
    return EdoDocument(
        edo_document_id=s.EDO_DOCUMENT_ID,
        document_id=s.CLOSING_DOCUMENT_ID,
        document_kind="closing_document",
        document_number="2025-000456",
        recipient_edo_id=s.CUSTOMER_EDO_ID,
        file_name=_UPD_FILE,
        operator_message_id=None if status == "failed" else "c1f0e2d3-msg-000987",
        status=status,
    )


class EdoDocumentSent(Event):
    """The EDO operator accepted the document for delivery."""

    event_type: ClassVar[str] = "ru.vitrina.integrations.edo_document.sent"
    topic: ClassVar[str] = EDO
    aggregate_field: ClassVar[str] = "edo_document.document_id"

    edo_document: EdoDocument

    @classmethod
    def example(cls) -> Self:
        return cls(edo_document=_edo_document("sent"))


class EdoDocumentDelivered(Event):
    """The buyer's EDO box received the document."""

    event_type: ClassVar[str] = "ru.vitrina.integrations.edo_document.delivered"
    topic: ClassVar[str] = EDO
    aggregate_field: ClassVar[str] = "edo_document.document_id"

    edo_document: EdoDocument

    @classmethod
    def example(cls) -> Self:
        return cls(edo_document=_edo_document("delivered"))


class EdoDocumentSigned(Event):
    """The buyer signed the document: the sale is confirmed."""

    event_type: ClassVar[str] = "ru.vitrina.integrations.edo_document.signed"
    topic: ClassVar[str] = EDO
    aggregate_field: ClassVar[str] = "edo_document.document_id"

    edo_document: EdoDocument

    @classmethod
    def example(cls) -> Self:
        return cls(edo_document=_edo_document("signed"))


class EdoDocumentRejected(Event):
    """The buyer refused to sign; the reason is theirs."""

    event_type: ClassVar[str] = "ru.vitrina.integrations.edo_document.rejected"
    topic: ClassVar[str] = EDO
    aggregate_field: ClassVar[str] = "edo_document.document_id"

    edo_document: EdoDocument
    reason: str = Field(min_length=1)

    @classmethod
    def example(cls) -> Self:
        return cls(
            edo_document=_edo_document("rejected"),
            reason="Количество мест не соответствует фактическому: 8, а не 10.",
        )


class EdoDocumentFailed(Event):
    """Delivery failed for good (the operator refused it, or retries ran out)."""

    event_type: ClassVar[str] = "ru.vitrina.integrations.edo_document.failed"
    topic: ClassVar[str] = EDO
    aggregate_field: ClassVar[str] = "edo_document.document_id"

    edo_document: EdoDocument
    reason: str = Field(min_length=1)

    @classmethod
    def example(cls) -> Self:
        return cls(
            edo_document=_edo_document("failed"),
            reason="Оператор ЭДО: получатель не найден по идентификатору участника.",
        )


class BankPayment(ContractModel):
    """One incoming line of a bank statement, as the bank reported it."""

    bank_payment_id: UUID
    number: str = Field(description="The payment order's number.")
    paid_on: date
    amount: Money
    currency: Currency = "RUB"
    payer_name: str
    payer_inn: Inn | None = None
    payer_kpp: Kpp | None = None
    payer_account: str = Field(pattern=r"^[0-9]{20}$")
    payer_bank_bic: str | None = Field(default=None, pattern=r"^[0-9]{9}$")
    purpose: str = Field(description="The purpose text, where the invoice number usually is.")


class BankPaymentImported(Event):
    """An incoming payment was read from a bank statement; billing matches it."""

    event_type: ClassVar[str] = "ru.vitrina.integrations.bank_payment.imported"
    topic: ClassVar[str] = BANK
    aggregate_field: ClassVar[str] = "bank_payment.bank_payment_id"

    bank_payment: BankPayment

    @classmethod
    def example(cls) -> Self:
        return cls(
            bank_payment=BankPayment(
                bank_payment_id=s.BANK_PAYMENT_ID,
                number="318",
                paid_on=date(2025, 12, 2),
                amount=Decimal("5400.00"),
                payer_name=s.CUSTOMER_NAME,
                payer_inn=s.CUSTOMER_INN,
                payer_kpp=s.CUSTOMER_KPP,
                payer_account=s.CUSTOMER_ACCOUNT,
                payer_bank_bic="044525974",
                purpose=f"Оплата по счёту № {s.INVOICE_NUMBER} от 30.11.2025, "
                "в т.ч. НДС 20% 900.00",
            )
        )


ProvisioningAction = Literal["activate", "change", "suspend", "resume", "cancel"]


class PartnerResponse(ContractModel):
    """What the partner's webhook answered (the body cut to a sane length)."""

    status_code: int = Field(ge=100, le=599)
    body: str = Field(default="", max_length=4096)
    external_account_id: str | None = Field(
        default=None, description="The partner's own id for the customer's account, if given."
    )


class ProvisioningSucceeded(Event):
    """The partner acknowledged a subscription change: the service is set up (or changed)."""

    event_type: ClassVar[str] = "ru.vitrina.integrations.provisioning.succeeded"
    topic: ClassVar[str] = PROVISIONING
    aggregate_field: ClassVar[str] = "subscription_id"

    provisioning_id: UUID
    subscription_id: UUID
    partner_id: UUID
    action: ProvisioningAction
    attempts: int = Field(default=1, ge=1)
    response: PartnerResponse

    @classmethod
    def example(cls) -> Self:
        return cls(
            provisioning_id=s.PROVISIONING_ID,
            subscription_id=s.SUBSCRIPTION_ID,
            partner_id=s.PARTNER_ID,
            action="activate",
            response=PartnerResponse(
                status_code=200,
                body='{"account_id": "acc-42", "status": "ready"}',
                external_account_id="acc-42",
            ),
        )


class ProvisioningFailed(Event):
    """The partner did not acknowledge a change after every retry; the operator must look."""

    event_type: ClassVar[str] = "ru.vitrina.integrations.provisioning.failed"
    topic: ClassVar[str] = PROVISIONING
    aggregate_field: ClassVar[str] = "subscription_id"

    provisioning_id: UUID
    subscription_id: UUID
    partner_id: UUID
    action: ProvisioningAction
    attempts: int = Field(ge=1)
    reason: str = Field(min_length=1)
    response: PartnerResponse | None = Field(
        default=None, description="The last answer; None if the partner never answered."
    )

    @classmethod
    def example(cls) -> Self:
        return cls(
            provisioning_id=s.PROVISIONING_ID,
            subscription_id=s.SUBSCRIPTION_ID,
            partner_id=s.PARTNER_ID,
            action="activate",
            attempts=8,
            reason="HTTP 503 from the partner's endpoint on every attempt.",
            response=PartnerResponse(status_code=503, body="Service Unavailable"),
        )
