"""The printable invoice for payment (счёт на оплату), as HTML or PDF, from its contract form.

Both formats print one :class:`InvoicePrint` — what the page says, every value already
formatted — so the two cannot drift apart. HTML is a string template with every value escaped:
no template engine is installed, and one page does not need one. PDF is drawn with fpdf2 (pure
Python) in DejaVu Sans, embedded as a subset: PDF's built-in fonts are Latin-1 only, and a
Cyrillic document needs a TrueType font inside it. The fonts ship with this package
(``invoices/fonts``, with their licence), so rendering never depends on the host's fonts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from enum import StrEnum
from html import escape
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from fpdf import FPDF
from fpdf.fonts import FontFace

from billing.invoices.vat import rate_label
from vitrina_contracts.events.billing import InvoiceDocument, Party

UNIT_SHORT_NAMES = {"796": "шт", "2553": "Гбайт"}
"""ОКЕИ codes billing prints (the catalog's units), by their national short names."""


class PrintFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return {PrintFormat.HTML: "text/html; charset=utf-8", PrintFormat.PDF: "application/pdf"}[
            self
        ]


def rubles(amount: Decimal) -> str:
    """``1 234 567,89``: grouped by spaces, a decimal comma, as Russian documents print."""
    whole, _, kopecks = f"{amount:.2f}".partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups: list[str] = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return f"{sign}{' '.join(groups) or '0'},{kopecks}"


def unit_name(okei_code: str) -> str:
    return UNIT_SHORT_NAMES.get(okei_code, f"ОКЕИ {okei_code}")


def party_text(party: Party) -> str:
    kpp = f", КПП {party.kpp}" if party.kpp else ""
    return f"{party.legal_name}, ИНН {party.inn}{kpp}, {party.address}"


# What the page says ----------------------------------------------------------------------


@dataclass(frozen=True)
class BankDetails:
    """The payee's block at the top: everything a payment order needs to reach the seller."""

    bank_name: str
    bic: str
    correspondent_account: str
    account: str
    payee: str
    payee_tax_ids: str


@dataclass(frozen=True)
class PrintedLine:
    line_no: str
    service: str
    quantity: str
    unit: str
    unit_price: str
    amount_net: str
    vat_rate: str
    vat_amount: str
    amount_total: str


LINE_HEADINGS = PrintedLine(
    "№", "Услуга", "Кол-во", "Ед.", "Цена без НДС", "Сумма без НДС", "Ставка НДС", "НДС", "Всего"
)


@dataclass(frozen=True)
class InvoicePrint:
    number: str
    title: str
    bank: BankDetails | None
    seller: str
    buyer: str
    lines: tuple[PrintedLine, ...]
    net_total: str
    vat_total: str
    total: str
    due: str
    purpose: str
    issued_at: datetime

    @classmethod
    def of(cls, invoice: InvoiceDocument) -> InvoicePrint:
        seller, issued = invoice.seller, f"{invoice.issued_on:%d.%m.%Y}"
        account = seller.bank_account
        bank = None
        if account is not None:
            bank = BankDetails(
                bank_name=account.bank_name,
                bic=account.bic,
                correspondent_account=account.correspondent_account or "",
                account=account.account,
                payee=seller.legal_name,
                payee_tax_ids=f"ИНН {seller.inn} КПП {seller.kpp or ''}".rstrip(),
            )
        with_vat = any(line.vat_rate is not None for line in invoice.lines)
        # A payment order must state the VAT in its purpose (or that there is none), so the
        # invoice gives the whole text to copy, the invoice number in it for matching.
        vat_note = f"в т.ч. НДС {rubles(invoice.vat_amount)} руб." if with_vat else "без НДС"
        return cls(
            number=invoice.number,
            title=f"Счёт на оплату № {invoice.number} от {issued}",
            bank=bank,
            seller=party_text(seller),
            buyer=party_text(invoice.buyer),
            lines=tuple(
                PrintedLine(
                    line_no=str(line.line_no),
                    service=line.description,
                    quantity=str(line.quantity),
                    unit=unit_name(line.okei_code),
                    unit_price=rubles(line.unit_price),
                    amount_net=rubles(line.amount_net),
                    vat_rate=rate_label(line.vat_rate),
                    vat_amount=rubles(line.vat_amount),
                    amount_total=rubles(line.amount_total),
                )
                for line in invoice.lines
            ),
            net_total=f"Итого без НДС: {rubles(invoice.amount_net)}",
            vat_total=f"В том числе НДС: {rubles(invoice.vat_amount)}" if with_vat else "Без НДС",
            total=f"Всего к оплате: {rubles(invoice.amount_total)} руб.",
            due=f"Оплатить не позднее {invoice.due_on:%d.%m.%Y}.",
            purpose=(
                f"Оплата по счёту № {invoice.number} от {issued}, "
                f"сумма {rubles(invoice.amount_total)} руб., {vat_note}"
            ),
            issued_at=datetime.combine(invoice.issued_on, time(), tzinfo=UTC),
        )


@dataclass(frozen=True)
class Printout:
    """A rendered invoice, ready to send."""

    content: bytes
    format: PrintFormat
    number: str

    @property
    def content_disposition(self) -> str:
        """Shown in the browser, saved as ``СЧ-2026-000123.pdf`` (RFC 6266: the ASCII name
        for old clients, the UTF-8 one for the rest)."""
        name = f"{self.number}.{self.format.value}"
        return f"inline; filename=\"invoice.{self.format.value}\"; filename*=UTF-8''{quote(name)}"


def render(invoice: InvoiceDocument, output: PrintFormat) -> Printout:
    """The invoice in ``output``; PDF takes tens of milliseconds of CPU (run it off the loop)."""
    page = InvoicePrint.of(invoice)
    content = invoice_pdf(page) if output is PrintFormat.PDF else invoice_html(page).encode()
    return Printout(content, output, page.number)


# HTML -------------------------------------------------------------------------------------

_STYLE = """
body { font-family: Arial, sans-serif; font-size: 12px; margin: 24px; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #000; padding: 3px 5px; vertical-align: top; }
.num { text-align: right; white-space: nowrap; }
.plain td { border: none; padding: 1px 0; }
h1 { font-size: 18px; border-bottom: 2px solid #000; padding-bottom: 4px; }
"""


def invoice_html(page: InvoicePrint) -> str:
    """The whole page: the seller's bank details, the parties, the lines, VAT and totals."""
    bank_rows = ""
    if (bank := page.bank) is not None:
        bank_rows = (
            f"<tr><td rowspan='2'>{escape(bank.bank_name)}<br>Банк получателя</td>"
            f"<td>БИК</td><td>{escape(bank.bic)}</td></tr>"
            f"<tr><td>Сч. №</td><td>{escape(bank.correspondent_account)}</td></tr>"
            f"<tr><td>{escape(bank.payee_tax_ids)}<br>{escape(bank.payee)}<br>Получатель</td>"
            f"<td>Сч. №</td><td>{escape(bank.account)}</td></tr>"
        )
    headings = "".join(f"<th>{escape(text)}</th>" for text in _cells(LINE_HEADINGS))
    lines = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(text)}</td>" if column == 1 else f"<td class='num'>{escape(text)}</td>"
            for column, text in enumerate(_cells(line))
        )
        + "</tr>"
        for line in page.lines
    )
    title = escape(page.title)
    return f"""<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>{title}</title><style>{_STYLE}</style></head>
<body>
<table>{bank_rows}</table>
<h1>{title}</h1>
<table class="plain">
<tr><td>Поставщик:</td><td>{escape(page.seller)}</td></tr>
<tr><td>Покупатель:</td><td>{escape(page.buyer)}</td></tr>
</table>
<br>
<table>
<tr>{headings}</tr>
{lines}
</table>
<p class="num">{escape(page.net_total)}<br>{escape(page.vat_total)}<br>
<b>{escape(page.total)}</b></p>
<p>{escape(page.due)} В назначении платежа укажите «{escape(page.purpose)}».</p>
</body></html>
"""


def _cells(line: PrintedLine) -> tuple[str, ...]:
    return (
        line.line_no,
        line.service,
        line.quantity,
        line.unit,
        line.unit_price,
        line.amount_net,
        line.vat_rate,
        line.vat_amount,
        line.amount_total,
    )


# PDF --------------------------------------------------------------------------------------

FONT = "DejaVuSans"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_LINE_WIDTHS = (7, 48, 15, 9, 20, 22, 15, 20, 24)
"""Millimetres of the 180 between A4's margins: the service's name takes what numbers leave."""
_LINE_ALIGN = ("RIGHT", "LEFT", "RIGHT", "CENTER", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")
_BOLD = FontFace(emphasis="BOLD")


@contextmanager
def _font_paths() -> Iterator[dict[str, Path]]:
    """The bundled fonts as files (fpdf2 reads a path), wherever the package is installed."""
    fonts = resources.files(__package__ or "billing.invoices") / "fonts"
    with ExitStack() as stack:
        yield {
            style: stack.enter_context(resources.as_file(fonts / name))
            for style, name in _FONT_FILES.items()
        }


def invoice_pdf(page: InvoicePrint) -> bytes:
    """The same page as :func:`invoice_html`, one A4 portrait PDF (more pages if it must)."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    with _font_paths() as paths:
        for style, path in paths.items():
            pdf.add_font(FONT, style, path)
    # The same invoice renders to the same bytes: dated by its issue, not by the request.
    pdf.set_creation_date(page.issued_at)
    pdf.set_title(page.title)
    pdf.set_lang("ru")
    pdf.add_page()
    width = pdf.epw

    if (bank := page.bank) is not None:
        pdf.set_font(FONT, size=9)
        with pdf.table(
            col_widths=(100, 20, 60), width=width, first_row_as_headings=False, line_height=4.5
        ) as table:
            row = table.row()
            row.cell(f"{bank.bank_name}\nБанк получателя", rowspan=2)
            row.cell("БИК")
            row.cell(bank.bic)
            row = table.row()
            row.cell("Сч. №")
            row.cell(bank.correspondent_account)
            row = table.row()
            row.cell(f"{bank.payee_tax_ids}\n{bank.payee}\nПолучатель")
            row.cell("Сч. №")
            row.cell(bank.account)
        pdf.ln(6)

    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(width, 7, page.title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.l_margin + width, pdf.get_y() + 1)
    pdf.set_line_width(0.2)
    pdf.ln(4)

    pdf.set_font(FONT, size=9)
    with pdf.table(
        col_widths=(25, 155),
        width=width,
        borders_layout="NONE",
        first_row_as_headings=False,
        text_align="LEFT",
        line_height=4.5,
    ) as table:
        for label, text in (("Поставщик:", page.seller), ("Покупатель:", page.buyer)):
            row = table.row()
            row.cell(label)
            row.cell(text)
    pdf.ln(4)

    pdf.set_font(FONT, size=8)
    with pdf.table(
        col_widths=_LINE_WIDTHS,
        width=width,
        text_align=_LINE_ALIGN,
        headings_style=_BOLD,
        line_height=4,
        padding=(0.8, 1),
    ) as table:
        for line in (LINE_HEADINGS, *page.lines):
            row = table.row()
            for text in _cells(line):
                row.cell(text)
    pdf.ln(3)

    pdf.set_font(FONT, size=9)
    for text in (page.net_total, page.vat_total):
        pdf.cell(width, 5, text, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 10)
    pdf.cell(width, 6, page.total, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font(FONT, size=9)
    pdf.multi_cell(width, 5, page.due, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(width, 5, "В назначении платежа укажите:", align="L", new_x="LMARGIN")
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(width, 5, page.purpose, align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
