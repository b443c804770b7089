"""What a billing document becomes in 1C:Бухгалтерия, and what a 1C receipt becomes for billing:
plain rules on plain values.

- A counterparty (``Catalog_Контрагенты``) is the buyer by ИНН and КПП.
- An invoice for payment becomes ``Document_СчетНаОплатуПокупателю`` (lines in ``Товары``), a
  closing document ``Document_РеализацияТоваровУслуг`` with ``ВидОперации = Услуги`` (lines in
  ``Услуги``), posted. Each carries the billing number as its 1C ``Number`` — the number the
  customer saw and pays by, and unique within a year in 1C too — so a document whose
  ``Ref_Key`` we never stored (a crash right after 1C created it) is found again by number and
  year, never created twice. ``Комментарий`` names our document id for the accountant.
- An incoming payment (``Document_ПоступлениеНаРасчетныйСчет``, ``ОплатаПокупателя``, posted)
  becomes the payment order a bank statement would list, so it gets the same dedup key and the
  same ``bank_payment_id`` whichever of the two brings it first.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from integrations.bank.statement import PAYMENT_ORDER, Counterparty, PaymentDocument
from integrations.onec.odata import datetime_literal, datetime_value, parse_datetime, text
from vitrina_contracts.events.base import KOPECK
from vitrina_contracts.events.billing import (
    BillingDocument,
    ClosingDocument,
    DocumentLine,
    InvoiceDocument,
    Party,
)

DocumentKind = Literal["invoice", "closing_document"]
EMPTY_REF = "00000000-0000-0000-0000-000000000000"

COUNTERPARTIES = "Catalog_Контрагенты"
RECEIPTS = "Document_ПоступлениеНаРасчетныйСчет"
ENTITY_SET: Mapping[DocumentKind, str] = {
    "invoice": "Document_СчетНаОплатуПокупателю",
    "closing_document": "Document_РеализацияТоваровУслуг",
}
TABULAR_PART: Mapping[DocumentKind, str] = {"invoice": "Товары", "closing_document": "Услуги"}
# Only the sale moves the books; an invoice for payment is a printed offer, never posted.
POSTED: Mapping[DocumentKind, bool] = {"invoice": False, "closing_document": True}

# 1C:Бухгалтерия's Catalog_Контрагенты.Description is 100 characters long.
DESCRIPTION_LENGTH = 100
RECEIPT_FROM_CUSTOMER = "ОплатаПокупателя"


def vat_rate(line: DocumentLine) -> str:
    """The line's rate as 1C's enumeration ``СтавкиНДС`` names it (``НДС20``, ``БезНДС``...)."""
    if line.vat_mode == "exempt" or line.vat_rate is None:
        return "БезНДС"
    return f"НДС{line.vat_rate}"


def _money(value: Decimal) -> float:
    # 1C's JSON numbers are Edm.Double; kopecks survive the trip (float repr round-trips).
    return float(value)


def document_comment(document_id: uuid.UUID) -> str:
    return f"Витрина, документ {document_id}"


def counterparty_fields(party: Party) -> dict[str, Any]:
    """A new ``Catalog_Контрагенты`` element for the buyer."""
    return {
        "Description": party.legal_name[:DESCRIPTION_LENGTH],
        "НаименованиеПолное": party.legal_name,
        "ИНН": party.inn,
        "КПП": party.kpp or "",
        # A 12-digit INN is a person's: a sole proprietor (ИП).
        "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо"
        if len(party.inn) == 10
        else "ФизическоеЛицо",
        "Комментарий": f"Создан Витриной для организации {party.organization_id}",
    }


def counterparty_filter(party: Party) -> str:
    """Who the buyer is in 1C: its INN and KPP (an empty KPP for a sole proprietor)."""
    return f"ИНН eq {text(party.inn)} and КПП eq {text(party.kpp or '')} and DeletionMark eq false"


def counterparty_changes(existing: Mapping[str, Any], party: Party) -> dict[str, Any]:
    """What to write to an existing counterparty so its requisites are the buyer's; empty if
    they are. The short name is rewritten only with the full one: an accountant's own short
    name (``Ромашка``) for an unchanged organization is left alone."""
    if existing.get("НаименованиеПолное") == party.legal_name:
        return {}
    return {
        "Description": party.legal_name[:DESCRIPTION_LENGTH],
        "НаименованиеПолное": party.legal_name,
    }


def document_filter(kind: DocumentKind, document: BillingDocument) -> str:
    """Finds the 1C document we wrote for ``document``: its number, in its year."""
    year = document.issued_on.year
    return (
        f"Number eq {text(document.number)} "
        f"and Date ge {datetime_literal(date(year, 1, 1))} "
        f"and Date lt {datetime_literal(date(year + 1, 1, 1))}"
    )


def document_fields(
    kind: DocumentKind,
    document: BillingDocument,
    *,
    counterparty_key: uuid.UUID,
    organization_key: str | None,
) -> dict[str, Any]:
    """The 1C document for ``document``, whole: a PATCH with it replaces every line."""
    fields: dict[str, Any] = {
        "Number": document.number,
        "Date": datetime_value(document.issued_on),
        "Организация_Key": organization_key or EMPTY_REF,
        "Контрагент_Key": str(counterparty_key),
        "СуммаДокумента": _money(document.amount_total),
        # Prices in billing are without VAT, VAT is added per line (as the UPD prints it).
        "СуммаВключаетНДС": False,
        "Комментарий": document_comment(document.document_id),
        TABULAR_PART[kind]: [
            {
                "LineNumber": str(line.line_no),
                "Содержание": line.description,
                "Количество": line.quantity,
                "Цена": _money(line.unit_price),
                "Сумма": _money(line.amount_net),
                "СтавкаНДС": vat_rate(line),
                "СуммаНДС": _money(line.vat_amount),
            }
            for line in document.lines
        ],
    }
    if isinstance(document, InvoiceDocument):
        fields["СрокОплаты"] = datetime_value(document.due_on)
    if isinstance(document, ClosingDocument):
        fields["ВидОперации"] = "Услуги"
    return fields


def receipts_filter(since: date) -> str:
    """Posted receipts from customers dated ``since`` or later."""
    return (
        f"Posted eq true and ВидОперации eq {text(RECEIPT_FROM_CUSTOMER)} "
        f"and Date ge {datetime_literal(since)}"
    )


RECEIPT_EXPAND = ("Контрагент", "СчетКонтрагента", "СчетОрганизации")


def payment_document(receipt: Mapping[str, Any], *, position: int) -> PaymentDocument:
    """A 1C receipt (read with :data:`RECEIPT_EXPAND`) as the payment order a statement lists.

    1C keeps the payer's order number and date in ``НомерВходящегоДокумента`` and
    ``ДатаВходящегоДокумента`` (its own ``Number`` is the receipt's); the accounts come from the
    expanded bank accounts.
    """
    payer = receipt.get("Контрагент") or {}
    payer_account = receipt.get("СчетКонтрагента") or {}
    own_account = receipt.get("СчетОрганизации") or {}
    received_at = parse_datetime(receipt["Date"])
    issued = receipt.get("ДатаВходящегоДокумента")
    issued_on = parse_datetime(issued).date() if issued else received_at.date()
    return PaymentDocument(
        kind=PAYMENT_ORDER,
        number=str(receipt.get("НомерВходящегоДокумента") or receipt["Number"]).strip(),
        issued_on=issued_on if issued_on.year > 1 else received_at.date(),
        amount=Decimal(repr(receipt["СуммаДокумента"])).quantize(KOPECK),
        payer=Counterparty(
            name=str(payer.get("НаименованиеПолное") or payer.get("Description") or ""),
            inn=payer.get("ИНН") or None,
            kpp=payer.get("КПП") or None,
            account=payer_account.get("НомерСчета") or None,
            bank_bic=None,
            bank_name=None,
            correspondent_account=None,
        ),
        recipient=Counterparty(
            name="",
            inn=None,
            kpp=None,
            account=own_account.get("НомерСчета") or None,
            bank_bic=None,
            bank_name=None,
            correspondent_account=None,
        ),
        purpose=str(receipt.get("НазначениеПлатежа") or ""),
        received_on=received_at.date(),
        debited_on=None,
        line_no=position,
    )
