"""Bank statements in the 1C client-bank exchange format (`1CClientBankExchange`).

The file is plain text, one `Key=Value` per line: a header, a `СекцияРасчСчет … КонецРасчСчет`
summary per account, one `СекцияДокумент=<kind> … КонецДокумента` per payment document, and
`КонецФайла`. Banks write it in windows-1251 (`Кодировка=Windows`), rarely cp866
(`Кодировка=DOS`); some exporters write UTF-8, which is accepted too.

A file is parsed whole or not at all: any malformed line raises `StatementError` naming the line,
so an import never publishes half a statement.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

HEADER = "1CClientBankExchange"
END_OF_FILE = "КонецФайла"
ACCOUNT_SECTION = "СекцияРасчСчет"
ACCOUNT_SECTION_END = "КонецРасчСчет"
DOCUMENT_SECTION = "СекцияДокумент"
DOCUMENT_SECTION_END = "КонецДокумента"
PAYMENT_ORDER = "Платежное поручение"

# Statements are small (a month of one account is a few hundred kB); anything far larger is not
# a statement and must not be read into memory.
MAX_STATEMENT_BYTES = 20 * 1024 * 1024

_AMOUNT = re.compile(r"^\d{1,17}(\.\d{1,2})?$")
_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
_ENCODINGS = {"windows": "cp1251", "dos": "cp866"}
_ENCODING_KEY = re.compile(r"^Кодировка=(.*)$", re.MULTILINE)


class StatementError(ValueError):
    """A statement file that cannot be imported; `line_no` is 1-based, None for the whole file."""

    def __init__(self, message: str, line_no: int | None = None) -> None:
        self.line_no = line_no
        super().__init__(f"line {line_no}: {message}" if line_no is not None else message)


class Direction(StrEnum):
    """Which way money moved for the account whose statement it is."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    UNRELATED = "unrelated"


@dataclass(frozen=True, slots=True)
class Counterparty:
    """A payer or recipient as the payment document prints them."""

    name: str
    inn: str | None
    kpp: str | None
    account: str | None
    bank_bic: str | None
    bank_name: str | None
    correspondent_account: str | None


@dataclass(frozen=True, slots=True)
class PaymentDocument:
    """One `СекцияДокумент`: a payment order, a bank order, a memorial order…"""

    kind: str
    number: str
    issued_on: date
    amount: Decimal
    payer: Counterparty
    recipient: Counterparty
    purpose: str
    received_on: date | None
    debited_on: date | None
    line_no: int

    @property
    def is_payment_order(self) -> bool:
        return self.kind == PAYMENT_ORDER

    def direction(self, own_account: str) -> Direction:
        """Incoming when `own_account` received the money, outgoing when it paid."""
        if self.recipient.account == own_account:
            return Direction.INCOMING
        if self.payer.account == own_account:
            return Direction.OUTGOING
        return Direction.UNRELATED

    @property
    def dedup_key(self) -> str:
        """A stable key for this payment line, the same however often it is imported.

        The same payment appears in the payer's and the recipient's statements and in
        overlapping periods, so the key uses what identifies the payment itself — number, date,
        amount, both accounts and the payer's INN — not the file it came in.
        """
        parts = (
            self.number,
            self.issued_on.isoformat(),
            f"{self.amount:.2f}",
            self.payer.account or "",
            self.payer.inn or "",
            self.recipient.account or "",
        )
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """One `СекцияРасчСчет`: the balances of an account over the statement's period."""

    account: str
    period_start: date | None
    period_end: date | None
    opening_balance: Decimal | None
    total_received: Decimal | None
    total_debited: Decimal | None
    closing_balance: Decimal | None


@dataclass(frozen=True, slots=True)
class BankStatement:
    """A parsed statement file."""

    format_version: str | None
    encoding: str
    sender: str | None
    receiver: str | None
    period_start: date | None
    period_end: date | None
    accounts: tuple[str, ...]
    summaries: tuple[AccountSummary, ...]
    documents: tuple[PaymentDocument, ...]

    def incoming(self, own_account: str) -> tuple[PaymentDocument, ...]:
        """Documents that brought money to `own_account` (what billing matches to invoices)."""
        return tuple(
            doc for doc in self.documents if doc.direction(own_account) is Direction.INCOMING
        )


def parse_statement(data: bytes) -> BankStatement:
    """Parse a `1CClientBankExchange` file; raise `StatementError` with the line on any fault."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementError(f"file is larger than {MAX_STATEMENT_BYTES} bytes")
    text, encoding = _decode(data)
    return _Parser(text.splitlines(), encoding).parse()


def _decode(data: bytes) -> tuple[str, str]:
    """Decode by the file's own `Кодировка=`, accepting UTF-8 that some exporters write."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8"
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        pass
    else:
        # windows-1251 Cyrillic almost never forms valid UTF-8, so this is a UTF-8 file.
        return text, "utf-8"
    for candidate in ("cp1251", "cp866"):
        text = data.decode(candidate, errors="replace")
        declared = _ENCODING_KEY.search(text)
        if declared is None:
            continue
        name = declared.group(1).strip().lower()
        if name not in _ENCODINGS:
            line_no = text.count("\n", 0, declared.start()) + 1
            raise StatementError(f"unknown encoding {declared.group(1).strip()!r}", line_no)
        codec = _ENCODINGS[name]
        try:
            return data.decode(codec, errors="strict"), codec
        except UnicodeDecodeError as error:
            line_no = data.count(b"\n", 0, error.start) + 1
            raise StatementError(f"bytes not valid in {codec}", line_no) from error
    # No Кодировка line: the format's default is windows-1251.
    try:
        return data.decode("cp1251", errors="strict"), "cp1251"
    except UnicodeDecodeError as error:
        line_no = data.count(b"\n", 0, error.start) + 1
        raise StatementError("bytes not valid in windows-1251", line_no) from error


class _Parser:
    def __init__(self, lines: list[str], encoding: str) -> None:
        self._lines = lines
        self._encoding = encoding
        self._header: dict[str, str] = {}
        self._accounts: list[str] = []
        self._summaries: list[AccountSummary] = []
        self._documents: list[PaymentDocument] = []

    def parse(self) -> BankStatement:
        numbered = self._numbered()
        first = next(numbered, None)
        if first is None or first[1] != HEADER:
            raise StatementError(f"the file does not start with {HEADER}", 1)
        for line_no, line in numbered:
            if line == END_OF_FILE:
                self._expect_nothing_after(numbered)
                return self._statement()
            if line == ACCOUNT_SECTION:
                self._summaries.append(self._account_section(line_no, numbered))
            elif line.startswith(f"{DOCUMENT_SECTION}="):
                kind = line.partition("=")[2].strip()
                self._documents.append(self._document_section(kind, line_no, numbered))
            else:
                key, value = _key_value(line, line_no)
                if key == "РасчСчет":
                    self._accounts.append(value)
                else:
                    self._header[key] = value
        raise StatementError(f"no {END_OF_FILE}: the file is cut short", len(self._lines))

    def _numbered(self) -> Iterator[tuple[int, str]]:
        for index, raw in enumerate(self._lines, start=1):
            line = raw.strip()
            if line:
                yield index, line

    def _expect_nothing_after(self, numbered: Iterator[tuple[int, str]]) -> None:
        extra = next(numbered, None)
        if extra is not None:
            raise StatementError(f"text after {END_OF_FILE}", extra[0])

    def _section(
        self, start: int, end_marker: str, numbered: Iterator[tuple[int, str]]
    ) -> dict[str, tuple[int, str]]:
        fields: dict[str, tuple[int, str]] = {}
        for line_no, line in numbered:
            if line == end_marker:
                return fields
            if line in (END_OF_FILE, ACCOUNT_SECTION) or line.startswith(DOCUMENT_SECTION):
                raise StatementError(f"section opened at line {start} has no {end_marker}", line_no)
            key, value = _key_value(line, line_no)
            fields[key] = (line_no, value)
        raise StatementError(f"section opened at line {start} has no {end_marker}", start)

    def _account_section(self, start: int, numbered: Iterator[tuple[int, str]]) -> AccountSummary:
        fields = self._section(start, ACCOUNT_SECTION_END, numbered)
        account = _text(fields, "РасчСчет")
        if account is None:
            raise StatementError("account section without РасчСчет", start)
        return AccountSummary(
            account=account,
            period_start=_date(fields, "ДатаНачала"),
            period_end=_date(fields, "ДатаКонца"),
            opening_balance=_amount(fields, "НачальныйОстаток"),
            total_received=_amount(fields, "ВсегоПоступило"),
            total_debited=_amount(fields, "ВсегоСписано"),
            closing_balance=_amount(fields, "КонечныйОстаток"),
        )

    def _document_section(
        self, kind: str, start: int, numbered: Iterator[tuple[int, str]]
    ) -> PaymentDocument:
        fields = self._section(start, DOCUMENT_SECTION_END, numbered)
        if not kind:
            raise StatementError(f"{DOCUMENT_SECTION} without a document kind", start)
        number = _text(fields, "Номер")
        issued_on = _date(fields, "Дата")
        amount = _amount(fields, "Сумма")
        for name, value in (("Номер", number), ("Дата", issued_on), ("Сумма", amount)):
            if value is None:
                raise StatementError(f"document opened here has no {name}", start)
        assert number is not None
        assert issued_on is not None
        assert amount is not None
        return PaymentDocument(
            kind=kind,
            number=number,
            issued_on=issued_on,
            amount=amount,
            payer=_counterparty(fields, "Плательщик"),
            recipient=_counterparty(fields, "Получатель"),
            purpose=_purpose(fields),
            received_on=_date(fields, "ДатаПоступило"),
            debited_on=_date(fields, "ДатаСписано"),
            line_no=start,
        )

    def _statement(self) -> BankStatement:
        header = {key: (0, value) for key, value in self._header.items()}
        return BankStatement(
            format_version=self._header.get("ВерсияФормата"),
            encoding=self._encoding,
            sender=self._header.get("Отправитель") or None,
            receiver=self._header.get("Получатель") or None,
            period_start=_date(header, "ДатаНачала"),
            period_end=_date(header, "ДатаКонца"),
            accounts=tuple(self._accounts),
            summaries=tuple(self._summaries),
            documents=tuple(self._documents),
        )


def _key_value(line: str, line_no: int) -> tuple[str, str]:
    key, sep, value = line.partition("=")
    if not sep or not key.strip():
        raise StatementError(f"expected Key=Value, got {line[:80]!r}", line_no)
    return key.strip(), value.strip()


def _text(fields: Mapping[str, tuple[int, str]], key: str) -> str | None:
    entry = fields.get(key)
    return entry[1] or None if entry else None


def _date(fields: Mapping[str, tuple[int, str]], key: str) -> date | None:
    entry = fields.get(key)
    if entry is None or not entry[1]:
        return None
    line_no, value = entry
    match = _DATE.match(value)
    try:
        if match is None:
            raise ValueError(value)
        day, month, year = (int(part) for part in match.groups())
        return date(year, month, day)
    except ValueError:
        raise StatementError(
            f"bad date in {key}: {value!r} (expected DD.MM.YYYY)", line_no
        ) from None


def _amount(fields: Mapping[str, tuple[int, str]], key: str) -> Decimal | None:
    entry = fields.get(key)
    if entry is None or not entry[1]:
        return None
    line_no, value = entry
    if not _AMOUNT.match(value):
        raise StatementError(f"bad amount in {key}: {value!r}", line_no)
    return Decimal(value).quantize(Decimal("0.01"))


def _counterparty(fields: Mapping[str, tuple[int, str]], role: str) -> Counterparty:
    # `Плательщик` often reads «7701234567, ООО "Ромашка"»; `Плательщик1` is the bare name.
    name = _text(fields, f"{role}1") or _text(fields, role) or ""
    return Counterparty(
        name=name,
        inn=_text(fields, f"{role}ИНН"),
        kpp=_text(fields, f"{role}КПП"),
        account=_text(fields, f"{role}Счет") or _text(fields, f"{role}РасчСчет"),
        bank_bic=_text(fields, f"{role}БИК"),
        bank_name=_text(fields, f"{role}Банк1"),
        correspondent_account=_text(fields, f"{role}Корсчет"),
    )


def _purpose(fields: Mapping[str, tuple[int, str]]) -> str:
    # Older banks split a long purpose over НазначениеПлатежа1…6 after the main line.
    parts = [_text(fields, "НазначениеПлатежа")]
    parts += [_text(fields, f"НазначениеПлатежа{n}") for n in range(1, 7)]
    return " ".join(part for part in parts if part)
