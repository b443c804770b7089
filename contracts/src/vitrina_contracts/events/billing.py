"""Events of the billing service: documents, payments and partner settlements.

Documents travel whole (number, dates, lines with VAT, totals, both parties' requisites), so the
integrations service can print a UPD or post to 1C from the event alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import ClassVar, Self
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from vitrina_contracts.events import _samples as s
from vitrina_contracts.events.base import (
    KOPECK,
    ContractModel,
    Currency,
    Event,
    Inn,
    Kpp,
    Money,
    VatMode,
)

INVOICES = "billing.invoices"
PAYMENTS = "billing.payments"
SETTLEMENTS = "billing.settlements"


class BankAccount(ContractModel):
    """Where to pay: printed on an invoice for payment."""

    account: str = Field(pattern=r"^[0-9]{20}$", description="Settlement account (р/с).")
    bic: str = Field(pattern=r"^[0-9]{9}$", description="The bank's BIC (БИК).")
    bank_name: str
    correspondent_account: str | None = Field(default=None, pattern=r"^[0-9]{20}$")


class Party(ContractModel):
    """A seller or buyer as the document prints it, frozen at the time of issue."""

    organization_id: UUID
    legal_name: str = Field(min_length=1)
    inn: Inn
    kpp: Kpp | None = None
    address: str = Field(min_length=1)
    bank_account: BankAccount | None = None
    edo_participant_id: str | None = None


class DocumentLine(ContractModel):
    """One line of a document, with its VAT computed on the line (as the UPD requires)."""

    line_no: int = Field(ge=1)
    description: str = Field(min_length=1, description="The service's name as printed.")
    subscription_id: UUID | None = Field(
        default=None, description="The subscription billed; None for a manual line."
    )
    product_id: UUID | None = None
    plan_id: UUID | None = None
    period_start: date | None = Field(default=None, description="First day of service billed.")
    period_end: date | None = Field(default=None, description="Last day billed, inclusive.")
    quantity: int = Field(ge=1)
    okei_code: str = Field(
        default="796", pattern=r"^[0-9]{3,4}$", description="Unit code (ОКЕИ); 796 is «шт»."
    )
    unit_price: Money = Field(description="Price of one unit for the period billed, no VAT.")
    amount_net: Money = Field(description="The line's amount without VAT.")
    vat_mode: VatMode
    vat_rate: int | None = Field(
        ge=0, le=100, description="VAT percent of the supply date; None when exempt."
    )
    vat_amount: Money
    amount_total: Money = Field(description="amount_net + vat_amount.")

    @model_validator(mode="after")
    def _vat_is_consistent(self) -> Self:
        if (self.vat_mode == "exempt") != (self.vat_rate is None):
            raise ValueError("vat_rate is None exactly when vat_mode is 'exempt'")
        if self.vat_mode == "exempt" and self.vat_amount != 0:
            raise ValueError("an exempt line has no VAT")
        if self.amount_total != self.amount_net + self.vat_amount:
            raise ValueError("amount_total must equal amount_net + vat_amount")
        return self


class BillingDocument(ContractModel):
    """What every billing document has; its totals are the sums of its lines."""

    document_id: UUID
    number: str = Field(min_length=1, description="Sequential within the year, never reused.")
    issued_on: date
    seller: Party
    buyer: Party
    currency: Currency = "RUB"
    lines: tuple[DocumentLine, ...] = Field(min_length=1)
    amount_net: Money
    vat_amount: Money
    amount_total: Money

    @model_validator(mode="after")
    def _totals_are_sums_of_lines(self) -> Self:
        # Producers build documents through these models, so a rounding slip in billing fails
        # there, before a wrong document reaches 1C or the tax authority.
        for name in ("amount_net", "vat_amount", "amount_total"):
            lines_sum = sum((getattr(line, name) for line in self.lines), Decimal(0))
            if getattr(self, name) != lines_sum:
                raise ValueError(f"{name} must equal the sum of the lines' {name}")
        return self


class InvoiceDocument(BillingDocument):
    """An invoice for payment (счёт на оплату), issued in advance of the period."""

    due_on: date


class ClosingDocument(BillingDocument):
    """The closing document for services rendered in a period: the UPD (СЧФДОП)."""

    period_start: date
    period_end: date = Field(description="Last day of the period, inclusive.")
    invoice_id: UUID | None = Field(
        default=None, description="The invoice for payment this document closes, if any."
    )


class CreditNote(BillingDocument):
    """A correction (УКД) reducing an earlier document; line amounts are the amounts credited."""

    corrected_document_id: UUID
    corrected_document_number: str
    corrected_document_issued_on: date
    reason: str = ""


def _line(quantity: int = s.SEATS) -> DocumentLine:
    net = s.SEAT_PRICE * quantity
    vat = (net * Decimal("0.20")).quantize(KOPECK)
    return DocumentLine(
        line_no=1,
        description="Проектная доска, тариф «Стандарт», место, декабрь 2025",
        subscription_id=s.SUBSCRIPTION_ID,
        product_id=s.PRODUCT_ID,
        plan_id=s.PLAN_STANDARD_ID,
        period_start=date(2025, 12, 1),
        period_end=date(2025, 12, 31),
        quantity=quantity,
        unit_price=s.SEAT_PRICE,
        amount_net=net,
        vat_mode="standard",
        vat_rate=20,
        vat_amount=vat,
        amount_total=net + vat,
    )


def _document_fields(
    *, document_id: UUID, number: str, issued_on: date, quantity: int
) -> dict[str, object]:
    line = _line(quantity)
    return {
        "document_id": document_id,
        "number": number,
        "issued_on": issued_on,
        "seller": Party(
            organization_id=s.OPERATOR_ID,
            legal_name=s.OPERATOR_NAME,
            inn=s.OPERATOR_INN,
            kpp=s.OPERATOR_KPP,
            address=s.OPERATOR_ADDRESS,
            bank_account=BankAccount(
                account="40702810400000001234",
                bic="044525999",
                bank_name="АО «Банк Пример», г. Москва",
                correspondent_account="30101810400000000999",
            ),
            edo_participant_id=s.OPERATOR_EDO_ID,
        ),
        "buyer": Party(
            organization_id=s.CUSTOMER_ID,
            legal_name=s.CUSTOMER_NAME,
            inn=s.CUSTOMER_INN,
            kpp=s.CUSTOMER_KPP,
            address=s.CUSTOMER_ADDRESS,
            edo_participant_id=s.CUSTOMER_EDO_ID,
        ),
        "lines": (line,),
        "amount_net": line.amount_net,
        "vat_amount": line.vat_amount,
        "amount_total": line.amount_total,
    }


def _invoice() -> InvoiceDocument:
    return InvoiceDocument.model_validate(
        _document_fields(
            document_id=s.INVOICE_ID,
            number=s.INVOICE_NUMBER,
            issued_on=s.INVOICE_ISSUED_ON,
            quantity=s.SEATS,
        )
        | {"due_on": s.INVOICE_DUE_ON}
    )


class InvoiceIssued(Event):
    """An invoice for payment was issued to a customer."""

    event_type: ClassVar[str] = "ru.vitrina.billing.invoice.issued"
    topic: ClassVar[str] = INVOICES
    aggregate_field: ClassVar[str] = "invoice.document_id"

    invoice: InvoiceDocument

    @classmethod
    def example(cls) -> Self:
        return cls(invoice=_invoice())


class InvoicePaid(Event):
    """An invoice is paid in full; orders activates (or resumes) what it bills."""

    event_type: ClassVar[str] = "ru.vitrina.billing.invoice.paid"
    topic: ClassVar[str] = INVOICES
    aggregate_field: ClassVar[str] = "invoice.document_id"

    invoice: InvoiceDocument
    paid_at: AwareDatetime
    payment_ids: tuple[UUID, ...] = Field(default=(), description="The payments that paid it.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            invoice=_invoice(),
            paid_at=datetime(2025, 12, 2, 11, 0, tzinfo=UTC),
            payment_ids=(s.PAYMENT_ID,),
        )


class InvoiceOverdue(Event):
    """An invoice is past its due date and not fully paid: dunning starts."""

    event_type: ClassVar[str] = "ru.vitrina.billing.invoice.overdue"
    topic: ClassVar[str] = INVOICES
    aggregate_field: ClassVar[str] = "invoice.document_id"

    invoice: InvoiceDocument
    amount_due: Money = Field(description="What is still unpaid.")

    @classmethod
    def example(cls) -> Self:
        invoice = _invoice()
        return cls(invoice=invoice, amount_due=invoice.amount_total)


class InvoiceVoided(Event):
    """An invoice was cancelled before it was paid; its number stays used."""

    event_type: ClassVar[str] = "ru.vitrina.billing.invoice.voided"
    topic: ClassVar[str] = INVOICES
    aggregate_field: ClassVar[str] = "invoice.document_id"

    invoice: InvoiceDocument
    reason: str = Field(min_length=1)

    @classmethod
    def example(cls) -> Self:
        return cls(invoice=_invoice(), reason="Заказ отменён клиентом до оплаты.")


class ClosingDocumentIssued(Event):
    """The UPD for a period's services was issued; integrations sends it by EDO and to 1C."""

    event_type: ClassVar[str] = "ru.vitrina.billing.closing_document.issued"
    topic: ClassVar[str] = INVOICES
    aggregate_field: ClassVar[str] = "document.document_id"

    document: ClosingDocument

    @classmethod
    def example(cls) -> Self:
        fields = _document_fields(
            document_id=s.CLOSING_DOCUMENT_ID,
            number="2025-000456",
            issued_on=date(2025, 12, 31),
            quantity=s.SEATS,
        )
        period = {
            "period_start": date(2025, 12, 1),
            "period_end": date(2025, 12, 31),
            "invoice_id": s.INVOICE_ID,
        }
        return cls(document=ClosingDocument.model_validate(fields | period))


class CreditNoteIssued(Event):
    """A credit note (УКД) reduced an earlier closing document."""

    event_type: ClassVar[str] = "ru.vitrina.billing.credit_note.issued"
    topic: ClassVar[str] = INVOICES
    aggregate_field: ClassVar[str] = "credit_note.document_id"

    credit_note: CreditNote

    @classmethod
    def example(cls) -> Self:
        fields = _document_fields(
            document_id=s.CREDIT_NOTE_ID,
            number="2026-000007",
            issued_on=date(2026, 1, 12),
            quantity=2,
        )
        correction = {
            "corrected_document_id": s.CLOSING_DOCUMENT_ID,
            "corrected_document_number": "2025-000456",
            "corrected_document_issued_on": date(2025, 12, 31),
            "reason": "Уменьшение количества мест с 1 декабря по соглашению сторон.",
        }
        return cls(credit_note=CreditNote.model_validate(fields | correction))


class Payment(ContractModel):
    """Money received from a customer, as billing recorded it."""

    payment_id: UUID
    bank_payment_id: UUID | None = Field(
        default=None, description="The imported bank statement line it came from, if any."
    )
    received_on: date
    amount: Money
    currency: Currency = "RUB"
    payer_inn: Inn | None = None
    payer_name: str = ""
    purpose: str = Field(default="", description="The payment order's purpose text.")


def _payment() -> Payment:
    return Payment(
        payment_id=s.PAYMENT_ID,
        bank_payment_id=s.BANK_PAYMENT_ID,
        received_on=date(2025, 12, 2),
        amount=Decimal("5400.00"),
        payer_inn=s.CUSTOMER_INN,
        payer_name=s.CUSTOMER_NAME,
        purpose=f"Оплата по счёту № {s.INVOICE_NUMBER} от 30.11.2025, в т.ч. НДС 20% 900.00",
    )


class PaymentReceived(Event):
    """A payment arrived; allocation to invoices follows (or it stays unmatched)."""

    event_type: ClassVar[str] = "ru.vitrina.billing.payment.received"
    topic: ClassVar[str] = PAYMENTS
    aggregate_field: ClassVar[str] = "payment.payment_id"

    payment: Payment

    @classmethod
    def example(cls) -> Self:
        return cls(payment=_payment())


class Allocation(ContractModel):
    """The part of a payment applied to one invoice."""

    invoice_id: UUID
    invoice_number: str
    amount: Money


class PaymentAllocated(Event):
    """A payment was matched to a customer and applied to invoices; the rest is an advance."""

    event_type: ClassVar[str] = "ru.vitrina.billing.payment.allocated"
    topic: ClassVar[str] = PAYMENTS
    aggregate_field: ClassVar[str] = "payment.payment_id"

    payment: Payment
    customer_id: UUID
    allocations: tuple[Allocation, ...] = Field(min_length=1)
    unallocated: Money = Field(description="Left on the customer's account as an advance.")

    @model_validator(mode="after")
    def _allocations_add_up(self) -> Self:
        allocated = sum((a.amount for a in self.allocations), Decimal(0))
        if allocated + self.unallocated != self.payment.amount:
            raise ValueError("allocations plus unallocated must equal the payment's amount")
        return self

    @classmethod
    def example(cls) -> Self:
        payment = _payment()
        return cls(
            payment=payment,
            customer_id=s.CUSTOMER_ID,
            allocations=(
                Allocation(
                    invoice_id=s.INVOICE_ID,
                    invoice_number=s.INVOICE_NUMBER,
                    amount=payment.amount,
                ),
            ),
            unallocated=Decimal("0.00"),
        )


class PaymentUnmatched(Event):
    """A payment could not be matched to a customer or invoice; the operator must look."""

    event_type: ClassVar[str] = "ru.vitrina.billing.payment.unmatched"
    topic: ClassVar[str] = PAYMENTS
    aggregate_field: ClassVar[str] = "payment.payment_id"

    payment: Payment
    reason: str = Field(min_length=1)

    @classmethod
    def example(cls) -> Self:
        payment = _payment().model_copy(
            update={"payer_inn": "7727000006", "purpose": "Оплата по договору 15/2025"}
        )
        return cls(
            payment=payment,
            reason="Нет организации с ИНН плательщика; в назначении нет номера счёта.",
        )


class SettlementLine(ContractModel):
    """A partner's sales of one product in the period."""

    product_id: UUID
    gross_sales: Money
    commission: Money


class SettlementIssued(Event):
    """The agent's report to a partner: a period's sales, the commission, and the payout."""

    event_type: ClassVar[str] = "ru.vitrina.billing.settlement.issued"
    topic: ClassVar[str] = SETTLEMENTS
    aggregate_field: ClassVar[str] = "settlement_id"

    settlement_id: UUID
    number: str
    partner_id: UUID
    period_start: date
    period_end: date = Field(description="Last day of the period, inclusive.")
    currency: Currency = "RUB"
    gross_sales: Money = Field(description="What customers were billed, without VAT.")
    commission: Money = Field(description="The marketplace's commission, without VAT.")
    payout: Money = Field(description="gross_sales - commission.")
    lines: tuple[SettlementLine, ...] = ()

    @model_validator(mode="after")
    def _payout_is_sales_minus_commission(self) -> Self:
        if self.payout != self.gross_sales - self.commission:
            raise ValueError("payout must equal gross_sales - commission")
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            settlement_id=s.SETTLEMENT_ID,
            number="АО-2025-12-0031",
            partner_id=s.PARTNER_ID,
            period_start=date(2025, 12, 1),
            period_end=date(2025, 12, 31),
            gross_sales=Decimal("4500.00"),
            commission=Decimal("900.00"),
            payout=Decimal("3600.00"),
            lines=(
                SettlementLine(
                    product_id=s.PRODUCT_ID,
                    gross_sales=Decimal("4500.00"),
                    commission=Decimal("900.00"),
                ),
            ),
        )
