"""The printable invoice: one content, as HTML and as a PDF with its Cyrillic font embedded."""

from __future__ import annotations

import re
import zlib
from dataclasses import astuple
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any

import httpx

from billing.invoices.printing import InvoicePrint, PrintFormat, render, rubles
from vitrina_contracts.events.billing import InvoiceDocument, InvoiceIssued
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.testing import TestIssuer

# A PDF reader in miniature, enough for what fpdf2 writes: objects, Flate streams, Type0 fonts
# with a ToUnicode CMap, and text shown with Tj. No PDF library is a dependency for this.
_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\nendstream", re.S)
_FONT_REF = re.compile(rb"/(F\d+) (\d+) 0 R")
_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _objects(pdf: bytes) -> dict[int, bytes]:
    objects = {}
    for number, body in _OBJECT.findall(pdf):
        stream = _STREAM.search(body)
        if stream is not None:
            head, data = stream.groups()
            data = zlib.decompress(data) if b"/FlateDecode" in head else data
            body = head + b"\nstream\n" + data
        objects[int(number)] = body
    return objects


def _literal(content: bytes, start: int) -> tuple[bytes, int]:
    """The PDF literal string opening at ``content[start]`` and the index after it."""
    out, depth, i = bytearray(), 1, start + 1
    while True:
        char = content[i : i + 1]
        if char == b"\\":
            following = content[i + 1 : i + 2]
            if following.isdigit():
                octal = re.match(rb"[0-7]{1,3}", content[i + 1 : i + 4])
                assert octal is not None
                out.append(int(octal.group(), 8))
                i += 1 + len(octal.group())
                continue
            out += _ESCAPES.get(following, following)
            i += 2
            continue
        depth += {b"(": 1, b")": -1}.get(char, 0)
        if depth == 0:
            return bytes(out), i + 1
        out += char
        i += 1


def pdf_text(pdf: bytes) -> str:
    """Every string the pages show, decoded through its font's ToUnicode map, one per line."""
    objects = _objects(pdf)
    maps: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        if b"/Font <<" in body:
            for name, ref in _FONT_REF.findall(body):
                to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects[int(ref)])
                assert to_unicode is not None
                cmap = objects[int(to_unicode.group(1))].split(b"beginbfchar")[1]
                maps[name] = {
                    int(code, 16): bytes.fromhex(text.decode()).decode("utf-16-be")
                    for code, text in _BFCHAR.findall(cmap.split(b"endbfchar")[0])
                }
    shown: list[str] = []
    pages = [body for body in objects.values() if b"/Type /Page\n" in body]
    for page in pages:
        contents = re.search(rb"/Contents (\d+) 0 R", page)
        assert contents is not None
        content = objects[int(contents.group(1))].split(b"\nstream\n", 1)[1]
        font, i = b"", 0
        while (i := _next_token(content, i)) < len(content):
            if content[i : i + 1] == b"(":
                raw, i = _literal(content, i)
                glyphs = [int.from_bytes(raw[j : j + 2], "big") for j in range(0, len(raw), 2)]
                shown.append("".join(maps[font].get(glyph, "?") for glyph in glyphs))
            else:
                selected = re.match(rb"/(F\d+) [\d.]+ Tf", content[i:])
                font = selected.group(1) if selected else font
                i += 1
    return "\n".join(shown)


def pages(pdf: bytes) -> int:
    count = re.search(rb"/Count (\d+)\n/Kids", pdf)
    assert count is not None
    return int(count.group(1))


def _next_token(content: bytes, i: int) -> int:
    while i < len(content) and content[i : i + 1] not in (b"(", b"/"):
        i += 1
    return i


def example(**changes: Any) -> InvoiceDocument:
    return InvoiceIssued.example().invoice.model_copy(update=changes)


def test_the_pdf_prints_what_the_page_says() -> None:
    invoice = example(number="СЧ-2026-000042", issued_on=date(2026, 1, 12))
    page = InvoicePrint.of(invoice)

    printout = render(invoice, PrintFormat.PDF)

    pdf = printout.content
    assert pdf.startswith(b"%PDF-")
    assert pages(pdf) == 1
    # Both faces embedded (as subsets): readers need no Cyrillic font of their own.
    assert pdf.count(b"/FontFile2") == 2
    assert re.search(rb"/BaseFont /[A-Z]{6}\+DejaVuSans-?Bold", pdf)
    assert 10_000 < len(pdf) < 80_000  # subsets, not the two whole 700 KB fonts
    text = pdf_text(pdf)
    assert "Счёт на оплату № СЧ-2026-000042 от 12.01.2026" in text
    bank = invoice.seller.bank_account
    assert bank is not None
    for requisite in (bank.bank_name, bank.bic, bank.account, bank.correspondent_account):
        assert requisite
        assert requisite in text
    assert f"ИНН {invoice.seller.inn} КПП {invoice.seller.kpp}" in text
    for value in (page.net_total, page.vat_total, page.total, page.due, page.purpose):
        assert value in text
    assert "Всего к оплате: 5 400,00 руб." in text
    assert "в т.ч. НДС 900,00 руб." in page.purpose
    [line] = page.lines
    assert [line.quantity, line.unit, line.unit_price, line.vat_rate, line.vat_amount] == [
        "10",
        "шт",
        "450,00",
        "20%",
        "900,00",
    ]
    assert all(cell in text.splitlines() for cell in ("10", "шт", "450,00", "20%", "900,00"))
    assert printout.content_disposition.endswith("filename*=UTF-8''%D0%A1%D0%A7-2026-000042.pdf")


def test_the_same_invoice_renders_to_the_same_bytes() -> None:
    assert render(example(), PrintFormat.PDF).content == render(example(), PrintFormat.PDF).content


def test_html_and_pdf_print_the_same_content() -> None:
    invoice = example()
    page = InvoicePrint.of(invoice)
    html = render(invoice, PrintFormat.HTML).content.decode()
    # Cells wrap: the PDF's text is compared as words, line ends being spaces.
    words = " ".join(pdf_text(render(invoice, PrintFormat.PDF).content).split())
    for value in (page.title, page.seller, page.buyer, page.total, page.purpose):
        assert escape(value) in html
        assert value in words
    for cell in astuple(page.lines[0]):
        assert f">{escape(cell)}</td>" in html
        assert cell in words


def test_an_exempt_invoice_says_so() -> None:
    [line] = example().lines
    exempt = line.model_copy(
        update={
            "vat_mode": "exempt",
            "vat_rate": None,
            "vat_amount": Decimal("0.00"),
            "amount_total": line.amount_net,
        }
    )
    invoice = example(lines=(exempt,), vat_amount=Decimal("0.00"), amount_total=line.amount_net)

    text = pdf_text(render(invoice, PrintFormat.PDF).content)

    assert "Без НДС" in text
    assert f"сумма {rubles(line.amount_net)} руб., без НДС" in text


def test_a_long_invoice_breaks_onto_more_pages() -> None:
    [line] = example().lines
    lines = tuple(line.model_copy(update={"line_no": n}) for n in range(1, 61))

    pdf = render(example(lines=lines), PrintFormat.PDF).content

    assert pages(pdf) >= 2
    assert "Всего к оплате" in pdf_text(pdf)


async def test_a_business_downloads_its_invoice_as_pdf_and_no_one_else_does(
    world: Any, client: httpx.AsyncClient, token_issuer: TestIssuer
) -> None:
    customer, product = await world.customer(), await world.product()
    await world.subscribe(customer, product, starts_on=date(2025, 11, 17))
    mine = token_issuer.headers(customer, OrganizationKind.BUSINESS)
    other = token_issuer.headers(await world.customer(), OrganizationKind.BUSINESS)
    [invoice] = (await client.get("/invoices", headers=mine)).json()["items"]
    path = f"/invoices/{invoice['invoice_id']}/print"

    printed = await client.get(path, params={"format": "pdf"}, headers=mine)

    assert printed.status_code == 200
    assert printed.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in printed.headers["content-disposition"]
    text = pdf_text(printed.content)
    assert "Счёт на оплату № СЧ-2025-000001 от 17.11.2025" in text
    assert "40702810400000001234" in text
    assert "Всего к оплате: 2 520,00 руб." in text
    assert "Оплата по счёту № СЧ-2025-000001 от 17.11.2025" in text
    html = await client.get(path, params={"format": "html"}, headers=mine)
    assert html.headers["content-type"].startswith("text/html")
    assert (await client.get(path, params={"format": "pdf"}, headers=other)).status_code == 404
    unknown = await client.get(path, params={"format": "docx"}, headers=mine)
    assert unknown.status_code == 422
