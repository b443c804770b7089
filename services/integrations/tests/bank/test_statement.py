"""The 1C client-bank statement parser, on real files from public repositories (see SOURCE.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from integrations.bank.statement import (
    Direction,
    PaymentDocument,
    StatementError,
    parse_statement,
)

DATA = Path(__file__).parent.parent / "data" / "bank"
TECHNOSFERA = DATA / "andrey9129_testgit_kl_to_1c.txt"
ROGA = DATA / "dronm_clbnk_kl_to_1c.txt"
TECHNOSFERA_ACCOUNT = "40702810400000004583"


def sample(path: Path) -> bytes:
    return path.read_bytes()


def test_a_real_statement_parses_to_the_exact_amounts() -> None:
    statement = parse_statement(sample(TECHNOSFERA))

    assert statement.encoding == "cp1251"
    assert statement.format_version == "1.02"
    assert statement.accounts == (TECHNOSFERA_ACCOUNT,)
    assert len(statement.documents) == 14
    kinds = [document.kind for document in statement.documents]
    assert kinds.count("Платежное поручение") == 8
    assert kinds.count("Банковский ордер") == 5
    assert kinds.count("Мемориальный ордер") == 1
    # The account section's own total: every document in this file is a debit.
    (summary,) = statement.summaries
    assert summary.total_debited == Decimal("139020.86")
    assert sum((d.amount for d in statement.documents), Decimal(0)) == Decimal("139020.86")
    assert summary.opening_balance == Decimal("490661.75")
    assert summary.closing_balance == Decimal("351640.89")
    assert summary.period_start == date(2018, 8, 20)
    assert summary.period_end == date(2018, 8, 23)


def test_a_payment_order_carries_both_parties_and_the_purpose() -> None:
    statement = parse_statement(sample(TECHNOSFERA))
    order = next(d for d in statement.documents if d.number == "306")

    assert order.is_payment_order
    assert order.issued_on == date(2018, 8, 22)
    assert order.amount == Decimal("47520.00")
    assert order.payer.name == 'ООО "ТЕХНОСФЕРА"'
    assert (order.payer.inn, order.payer.kpp) == ("6154569327", "615401001")
    assert order.payer.account == TECHNOSFERA_ACCOUNT
    assert order.payer.bank_bic == "046015804"
    assert order.recipient.name == 'ООО "НПП "Химметпродукт"'
    assert order.recipient.inn == "6658508002"
    assert order.recipient.account == "40702810338410000482"
    assert order.recipient.bank_bic == "046577964"
    assert order.purpose == (
        "Оплата за металл по счету № ХИМ-ММР286 от 22.08.2018 г. в т.ч. НДС 18% - 7 248.81"
    )
    assert order.debited_on == date(2018, 8, 22)
    assert order.received_on is None


def test_direction_is_told_from_the_own_account() -> None:
    statement = parse_statement(sample(TECHNOSFERA))
    order = next(d for d in statement.documents if d.number == "305")

    assert order.direction(TECHNOSFERA_ACCOUNT) is Direction.OUTGOING
    assert order.direction("40702810552090003400") is Direction.INCOMING
    assert order.direction("40702810000000000000") is Direction.UNRELATED
    assert statement.incoming(TECHNOSFERA_ACCOUNT) == ()
    assert statement.incoming("40702810552090003400") == (order,)


def test_a_second_real_statement_from_another_bank() -> None:
    statement = parse_statement(sample(ROGA))

    assert statement.sender == "Банк Клиент Онлайн"
    assert statement.receiver == "1С:Предприятие"
    assert statement.period_start == date(2024, 1, 1)
    assert statement.period_end == date(2024, 4, 11)
    assert [(d.kind, d.number, d.amount) for d in statement.documents] == [
        ("Банковский ордер", "69147", Decimal("6936.00")),
        ("Платежное поручение", "1", Decimal("13056.00")),
    ]
    order = statement.documents[1]
    assert order.recipient.inn == "7123456789012"
    assert order.recipient.name == "ИП Пупкин О.А."
    assert order.purpose == "Оплата по заказу клиента №9614, НДС не облагается"


def test_the_dedup_key_is_stable_across_imports_and_encodings() -> None:
    raw = sample(TECHNOSFERA)
    first = parse_statement(raw)
    again = parse_statement(raw.decode("cp1251").encode("utf-8"))

    keys = [d.dedup_key for d in first.documents]
    assert keys == [d.dedup_key for d in again.documents]
    assert len(set(keys)) == len(keys)
    assert again.encoding == "utf-8"


def test_the_dedup_key_changes_with_what_identifies_a_payment() -> None:
    order = parse_statement(sample(ROGA)).documents[1]
    other = PaymentDocument(
        kind=order.kind,
        number=order.number,
        issued_on=order.issued_on,
        amount=order.amount + Decimal("0.01"),
        payer=order.payer,
        recipient=order.recipient,
        purpose=order.purpose,
        received_on=order.received_on,
        debited_on=order.debited_on,
        line_no=order.line_no,
    )

    assert other.dedup_key != order.dedup_key


STATEMENT = """1CClientBankExchange
ВерсияФормата=1.03
Кодировка=Windows
РасчСчет=40702810900000012345
СекцияДокумент=Платежное поручение
Номер=42
Дата=11.05.2026
Сумма=1234.56
ПлательщикСчет=40702810000000000003
ПлательщикИНН=5012345672
Плательщик1=ООО «Ромашка»
ПолучательСчет=40702810900000012345
ДатаПоступило=12.05.2026
НазначениеПлатежа=Оплата по счету № 2026-000001
КонецДокумента
КонецФайла
"""


def encoded(text: str, codec: str = "cp1251") -> bytes:
    return text.replace("\n", "\r\n").encode(codec)


def test_an_incoming_payment_with_its_received_date() -> None:
    (order,) = parse_statement(encoded(STATEMENT)).documents

    assert order.direction("40702810900000012345") is Direction.INCOMING
    assert order.received_on == date(2026, 5, 12)
    assert order.amount == Decimal("1234.56")


def test_a_dos_encoded_statement() -> None:
    # cp866 has no «»: DOS-era statements print plain quotes.
    text = STATEMENT.replace("Кодировка=Windows", "Кодировка=DOS").replace("«", '"')
    text = text.replace("»", '"')

    statement = parse_statement(encoded(text, "cp866"))

    assert statement.encoding == "cp866"
    assert statement.documents[0].payer.name == 'ООО "Ромашка"'


@pytest.mark.parametrize(
    ("text", "line_no", "message"),
    [
        (STATEMENT.replace("1CClientBankExchange", "1CBank"), 1, "does not start with"),
        (STATEMENT.replace("Сумма=1234.56", "Сумма=1 234,56"), 8, "bad amount"),
        (STATEMENT.replace("Дата=11.05.2026", "Дата=2026-05-11"), 7, "bad date"),
        (STATEMENT.replace("Кодировка=Windows", "Кодировка=KOI8"), 3, "unknown encoding"),
        (STATEMENT.replace("КонецДокумента\n", ""), 15, "has no КонецДокумента"),
        (STATEMENT.replace("КонецФайла\n", ""), 15, "no КонецФайла"),
        (STATEMENT.replace("Номер=42\n", ""), 5, "has no Номер"),
        (STATEMENT.replace("Дата=11.05.2026\n", "Дата 11.05.2026\n"), 7, "expected Key=Value"),
        (STATEMENT + "СекцияДокумент=Платежное поручение\n", 17, "text after КонецФайла"),
    ],
)
def test_a_malformed_file_names_the_line(text: str, line_no: int, message: str) -> None:
    with pytest.raises(StatementError, match=message) as caught:
        parse_statement(encoded(text))

    assert caught.value.line_no == line_no
    assert str(caught.value).startswith(f"line {line_no}:")


def test_bytes_outside_the_declared_encoding_are_refused() -> None:
    # 0x98 is the one byte windows-1251 leaves undefined (and it is not UTF-8 either).
    data = encoded(STATEMENT).replace(
        "Номер=42".encode("cp1251"), "Номер=4".encode("cp1251") + b"\x98"
    )

    with pytest.raises(StatementError, match="not valid in cp1251") as caught:
        parse_statement(data)

    assert caught.value.line_no == 6
