"""The printable invoice for payment (счёт на оплату) as HTML, from its contract form.

A string template with every value escaped: no template engine is installed, and one page does
not need one. PDF is not produced here: fpdf2 (well kept, pure Python) draws Cyrillic only with a
TrueType font embedded, its built-in PDF fonts are Latin-1, and no well-kept PyPI package ships
a Cyrillic TTF (reportlab's bundled Vera is Latin only; matplotlib's DejaVu would be a plotting
library installed for one font file). Browsers print this page to PDF faithfully meanwhile.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from billing.invoices.vat import rate_label
from vitrina_contracts.events.billing import InvoiceDocument, Party

_STYLE = """
body { font-family: Arial, sans-serif; font-size: 12px; margin: 24px; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #000; padding: 3px 5px; vertical-align: top; }
.num { text-align: right; white-space: nowrap; }
.plain td { border: none; padding: 1px 0; }
h1 { font-size: 18px; border-bottom: 2px solid #000; padding-bottom: 4px; }
"""


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


def _party(party: Party) -> str:
    kpp = f", КПП {escape(party.kpp)}" if party.kpp else ""
    return f"{escape(party.legal_name)}, ИНН {escape(party.inn)}{kpp}, {escape(party.address)}"


def invoice_html(invoice: InvoiceDocument) -> str:
    """The whole page: the seller's bank details, the parties, the lines, VAT and totals."""
    seller = invoice.seller
    bank = seller.bank_account
    bank_rows = ""
    if bank is not None:
        bank_rows = (
            f"<tr><td rowspan='2'>{escape(bank.bank_name)}<br>Банк получателя</td>"
            f"<td>БИК</td><td>{escape(bank.bic)}</td></tr>"
            f"<tr><td>Сч. №</td><td>{escape(bank.correspondent_account or '')}</td></tr>"
            f"<tr><td>ИНН {escape(seller.inn)} КПП {escape(seller.kpp or '')}<br>"
            f"{escape(seller.legal_name)}<br>Получатель</td>"
            f"<td>Сч. №</td><td>{escape(bank.account)}</td></tr>"
        )
    lines = "".join(
        f"<tr><td class='num'>{line.line_no}</td><td>{escape(line.description)}</td>"
        f"<td class='num'>{line.quantity}</td><td class='num'>{rubles(line.unit_price)}</td>"
        f"<td class='num'>{rubles(line.amount_net)}</td>"
        f"<td class='num'>{escape(rate_label(line.vat_rate))}</td>"
        f"<td class='num'>{rubles(line.vat_amount)}</td>"
        f"<td class='num'>{rubles(line.amount_total)}</td></tr>"
        for line in invoice.lines
    )
    vat = (
        f"В том числе НДС: {rubles(invoice.vat_amount)}"
        if any(line.vat_rate is not None for line in invoice.lines)
        else "Без НДС"
    )
    title = f"Счёт на оплату № {escape(invoice.number)} от {invoice.issued_on:%d.%m.%Y}"
    return f"""<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>{title}</title><style>{_STYLE}</style></head>
<body>
<table>{bank_rows}</table>
<h1>{title}</h1>
<table class="plain">
<tr><td>Поставщик:</td><td>{_party(seller)}</td></tr>
<tr><td>Покупатель:</td><td>{_party(invoice.buyer)}</td></tr>
</table>
<br>
<table>
<tr><th>№</th><th>Услуга</th><th>Кол-во</th><th>Цена без НДС</th><th>Сумма без НДС</th>
<th>Ставка НДС</th><th>НДС</th><th>Всего</th></tr>
{lines}
</table>
<p class="num">Итого без НДС: {rubles(invoice.amount_net)}<br>{vat}<br>
<b>Всего к оплате: {rubles(invoice.amount_total)} руб.</b></p>
<p>Оплатить не позднее {invoice.due_on:%d.%m.%Y}. В назначении платежа укажите
«Оплата по счёту № {escape(invoice.number)} от {invoice.issued_on:%d.%m.%Y}».</p>
</body></html>
"""
