"""The UPD (универсальный передаточный документ) in the FNS XML format 5.03, function СЧФДОП.

Built from billing's closing document, validated against the official XSD before it is returned:
an invalid document never leaves this module. The file is encoded windows-1251 and its name is
`@ИдФайл` + ".xml", as the format requires.

What the XSD cannot say (the format keeps those rules in Schematron and in the tax code) is checked
here where it is cheap: sums add up per line and in total, quantity × price matches the net
amount, an exempt line carries no VAT, and the signer's authority needs no power of attorney.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from uuid import UUID, uuid4

import xmlschema
from lxml import etree

from vitrina_contracts.events.billing import (
    ClosingDocument,
    ClosingDocumentIssued,
    DocumentLine,
    Party,
)

KOPECK = Decimal("0.01")
HALF_KOPECK = Decimal("0.005")
PRICE_PLACES = Decimal("1e-11")
"""ЦенаТов: up to 11 decimals in the format."""
SCHEMA_NAME = "ON_NSCHFDOPPR_1_997_01_05_03_05.xsd"
ENCODING = "windows-1251"
# Written by hand: lxml's own declaration uses single quotes, which some EDO operators' parsers
# reject; the conventional form is what every FNS sample shows.
XML_DECLARATION = b'<?xml version="1.0" encoding="windows-1251"?>\n'
FORMAT_VERSION = "5.03"
KND = "1115131"
FUNCTION = "СЧФДОП"
FILE_PREFIX = "ON_NSCHFDOPPR"
RUBLE_CODE = "643"
RUBLE_NAME = "Российский рубль"
RUSSIA_CODE = "643"
RUSSIA_NAME = "Россия"
VAT_EXEMPT = "без НДС"
# ПрТовРаб: 3 marks a line as a service (1 goods, 2 work, 4 property right, 5 other).
SERVICE_MARK = "3"

# OKEI codes the marketplace bills in, with the national short names the format requires
# beside the code (Schematron: НаимЕдИзм is mandatory when ОКЕИ_Тов is present).
OKEI_UNIT_NAMES: dict[str, str] = {
    "796": "шт",
    "362": "мес",
    "356": "ч",
    "359": "сут",
    "876": "усл. ед",
    "2553": "Гбайт",
}

# СпосПодтПолном values that need no power of attorney elements in the file: 1 — the signer's
# authority follows from the electronic signature itself, 2 — from the unified state registers,
# 4 — from other data known to the parties, 6 — other. 3 and 5 need СвДоверЭл / СвДоверБум, which
# this builder does not produce.
AUTHORITY_WITHOUT_POWER_OF_ATTORNEY = frozenset({"1", "2", "4", "6"})

_IP_PREFIX = re.compile(r"^(ИП|Индивидуальный\s+предприниматель)\s+", re.IGNORECASE)


class InvalidUpd(Exception):
    """A UPD that must not be sent: it breaks the XSD or one of the format's rules."""

    def __init__(self, summary: str, errors: Sequence[str]) -> None:
        self.errors = tuple(errors)
        listing = "\n".join(f"  - {error}" for error in self.errors)
        super().__init__(f"{summary} ({len(self.errors)} error(s)):\n{listing}")


class UpdSchemaError(InvalidUpd):
    """The XML does not validate against the official FNS XSD."""


class UpdRuleError(InvalidUpd):
    """The data breaks a rule the format states outside the XSD (sums, names, authority)."""


@dataclass(frozen=True, slots=True)
class Signer:
    """The person who signs the UPD for the seller (Подписант); read from settings."""

    last_name: str
    first_name: str
    position: str
    middle_name: str | None = None
    authority: str = "1"


@dataclass(frozen=True, slots=True)
class Basis:
    """The document the services were rendered under (ОснПер), e.g. the offer agreement."""

    name: str
    number: str
    issued_on: date


@dataclass(frozen=True, slots=True)
class UpdFile:
    """A built and validated UPD: send `content` under `file_name`."""

    file_id: str
    content: bytes

    @property
    def file_name(self) -> str:
        return f"{self.file_id}.xml"


def file_id_for(*, receiver_edo_id: str, sender_edo_id: str, formed_on: date, guid: UUID) -> str:
    """`ON_NSCHFDOPPR_<receiver>_<sender>_<YYYYMMDD>_<GUID>`: the file name and `@ИдФайл`."""
    return f"{FILE_PREFIX}_{receiver_edo_id}_{sender_edo_id}_{formed_on:%Y%m%d}_{guid}"


def build_upd(
    document: ClosingDocument | ClosingDocumentIssued,
    *,
    signer: Signer,
    formed_at: datetime,
    sender_edo_id: str | None = None,
    receiver_edo_id: str | None = None,
    basis: Basis | None = None,
    program_version: str = "Vitrina 0.1",
    guid: UUID | None = None,
    unit_names: dict[str, str] | None = None,
) -> UpdFile:
    """Build the UPD (СЧФДОП, format 5.03) for a closing document and validate it.

    The seller is the operator and signs with `signer`; the buyer is the business. EDO participant
    ids default to the parties' own. Raises `UpdRuleError` or `UpdSchemaError` listing every
    problem found; nothing invalid is ever returned.
    """
    closing = document.document if isinstance(document, ClosingDocumentIssued) else document
    sender = sender_edo_id or closing.seller.edo_participant_id
    receiver = receiver_edo_id or closing.buyer.edo_participant_id
    names = OKEI_UNIT_NAMES | (unit_names or {})
    problems = list(_rule_violations(closing, signer, names))
    if not sender:
        problems.append("the sender's (seller's) EDO participant id is unknown")
    if not receiver:
        problems.append("the receiver's (buyer's) EDO participant id is unknown")
    if problems:
        raise UpdRuleError(f"closing document {closing.number} cannot become a UPD", problems)
    # For the type checker: both were checked just above.
    assert sender
    assert receiver

    file_id = file_id_for(
        receiver_edo_id=receiver,
        sender_edo_id=sender,
        formed_on=formed_at.date(),
        guid=guid or uuid4(),
    )
    root = _file_element(closing, file_id, signer, formed_at, basis, program_version, names)
    content = XML_DECLARATION + etree.tostring(
        root, encoding=ENCODING, xml_declaration=False, pretty_print=True
    )
    validate(content, file_name=f"{file_id}.xml")
    return UpdFile(file_id=file_id, content=content)


def validate(xml: bytes, *, file_name: str | None = None) -> None:
    """Validate a UPD file against the official XSD; raise `UpdSchemaError` listing the errors.

    With `file_name`, also check the rule the XSD keeps in Schematron: the file is named after
    its `@ИдФайл`.
    """
    try:
        tree = etree.ElementTree(etree.fromstring(xml, parser=_parser()))
    except etree.XMLSyntaxError as error:
        raise UpdSchemaError("the UPD is not well-formed XML", [str(error)]) from error
    errors = [
        f"{error.path}: {error.reason or error.message}"
        # xmlschema reads the bytes itself (honouring the windows-1251 declaration); lxml above
        # only proves well-formedness and reads @ИдФайл.
        for error in _schema().iter_errors(xml)
    ]
    if file_name is not None:
        file_id = tree.getroot().get("ИдФайл")
        if file_name != f"{file_id}.xml":
            errors.append(f"file name {file_name!r} does not match @ИдФайл {file_id!r}")
    if errors:
        raise UpdSchemaError(f"the UPD does not validate against {SCHEMA_NAME}", errors)


@cache
def _schema() -> xmlschema.XMLSchema:
    # Parsing the 195 kB schema takes a fraction of a second; once per process is enough.
    with (files(__package__) / "schemas" / SCHEMA_NAME).open("rb") as source:
        return xmlschema.XMLSchema(source)


def _parser() -> etree.XMLParser:
    # The file comes from our own builder or an EDO operator's echo: no entities, no network.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _rule_violations(
    closing: ClosingDocument, signer: Signer, unit_names: dict[str, str]
) -> Iterable[str]:
    if signer.authority not in AUTHORITY_WITHOUT_POWER_OF_ATTORNEY:
        yield (
            f"signer authority {signer.authority!r} needs a power of attorney in the file, "
            "which this builder does not produce"
        )
    if closing.currency != "RUB":
        yield f"currency {closing.currency} is not supported; the UPD is built in rubles"
    if _is_individual_entrepreneur(closing.seller):
        yield "the seller must be the operator, a legal entity with a 10-digit INN"
    if _is_individual_entrepreneur(closing.buyer) and _entrepreneur_name(closing.buyer) is None:
        yield f"cannot read a surname and a name from the entrepreneur {closing.buyer.legal_name!r}"
    for line in closing.lines:
        where = f"line {line.line_no}"
        if line.okei_code not in unit_names:
            yield f"{where}: no unit name for OKEI code {line.okei_code}"
        # A prorated line's unit price is rounded to kopecks, so price × quantity may miss the net
        # by up to half a kopeck per unit; the UPD prints the exact price (see _unit_price).
        if abs(line.unit_price * line.quantity - line.amount_net) > HALF_KOPECK * line.quantity:
            yield (
                f"{where}: quantity {line.quantity} × price {line.unit_price} "
                f"≠ net amount {line.amount_net}"
            )
        if line.amount_net + line.vat_amount != line.amount_total:
            yield f"{where}: net {line.amount_net} + VAT {line.vat_amount} ≠ {line.amount_total}"
        if line.vat_mode == "exempt" and line.vat_amount != 0:
            yield f"{where}: a VAT-exempt line carries VAT {line.vat_amount}"
    for total, name in (
        (closing.amount_net, "amount_net"),
        (closing.vat_amount, "vat_amount"),
        (closing.amount_total, "amount_total"),
    ):
        lines_sum = sum((getattr(line, name) for line in closing.lines), Decimal(0))
        if total != lines_sum:
            yield f"document {name} {total} ≠ sum of lines {lines_sum}"
    if closing.period_end < closing.period_start:
        yield f"period ends {closing.period_end} before it starts {closing.period_start}"


def _file_element(
    closing: ClosingDocument,
    file_id: str,
    signer: Signer,
    formed_at: datetime,
    basis: Basis | None,
    program_version: str,
    unit_names: dict[str, str],
) -> etree._Element:
    root = etree.Element(
        "Файл", ИдФайл=file_id, ВерсФорм=FORMAT_VERSION, ВерсПрог=program_version[:40]
    )
    document = etree.SubElement(
        root,
        "Документ",
        КНД=KND,
        Функция=FUNCTION,
        ПоФактХЖ="Документ об отгрузке товаров (выполнении работ), передаче имущественных прав "
        "(документ об оказании услуг)",
        НаимДокОпр="Счет-фактура и документ об отгрузке товаров (выполнении работ), передаче "
        "имущественных прав (документ об оказании услуг)",
        ДатаИнфПр=_date(formed_at.date()),
        ВремИнфПр=formed_at.strftime("%H.%M.%S"),
        НаимЭконСубСост=closing.seller.legal_name[:1000],
    )
    invoice = etree.SubElement(
        document, "СвСчФакт", НомерДок=closing.number, ДатаДок=_date(closing.issued_on)
    )
    _participant(invoice, "СвПрод", closing.seller)
    _participant(invoice, "СвПокуп", closing.buyer)
    etree.SubElement(invoice, "ДенИзм", КодОКВ=RUBLE_CODE, НаимОКВ=RUBLE_NAME)

    table = etree.SubElement(document, "ТаблСчФакт")
    for line in closing.lines:
        _goods_line(table, line, unit_names)
    totals = etree.SubElement(
        table,
        "ВсегоОпл",
        СтТовБезНДСВсего=_money(closing.amount_net),
        СтТовУчНалВсего=_money(closing.amount_total),
    )
    all_exempt = all(line.vat_mode == "exempt" for line in closing.lines)
    _vat(etree.SubElement(totals, "СумНалВсего"), None if all_exempt else closing.vat_amount)

    transfer = etree.SubElement(document, "СвПродПер")
    rendered = etree.SubElement(
        transfer,
        "СвПер",
        СодОпер="Услуги оказаны в полном объеме",
        ДатаНачПер=_date(closing.period_start),
        ДатаОконПер=_date(closing.period_end),
    )
    if basis is None:
        etree.SubElement(rendered, "БезДокОснПер").text = "1"
    else:
        etree.SubElement(
            rendered,
            "ОснПер",
            РеквНаимДок=basis.name,
            РеквНомерДок=basis.number,
            РеквДатаДок=_date(basis.issued_on),
        )

    signature = etree.SubElement(
        document, "Подписант", Должн=signer.position, СпосПодтПолном=signer.authority
    )
    _full_name(signature, signer.last_name, signer.first_name, signer.middle_name)
    return root


def _participant(parent: etree._Element, tag: str, party: Party) -> None:
    participant = etree.SubElement(parent, tag)
    identity = etree.SubElement(participant, "ИдСв")
    if _is_individual_entrepreneur(party):
        entrepreneur = etree.SubElement(identity, "СвИП", ИННФЛ=party.inn)
        name = _entrepreneur_name(party)
        assert name is not None  # checked by _rule_violations before building
        _full_name(entrepreneur, *name)
    else:
        legal = etree.SubElement(identity, "СвЮЛУч", НаимОрг=party.legal_name, ИННЮЛ=party.inn)
        if party.kpp:
            legal.set("КПП", party.kpp)
    # 5.03 offers the FIAS/GAR address, the structured RF address, or free text (АдрИнф); billing
    # carries the address as one string, so it goes into АдрТекст as printed.
    address = etree.SubElement(participant, "Адрес")
    etree.SubElement(
        address, "АдрИнф", КодСтр=RUSSIA_CODE, НаимСтран=RUSSIA_NAME, АдрТекст=party.address[:1000]
    )
    if party.bank_account is not None:
        bank = etree.SubElement(participant, "БанкРекв", НомерСчета=party.bank_account.account)
        details = etree.SubElement(
            bank,
            "СвБанк",
            НаимБанк=party.bank_account.bank_name,
            БИК=party.bank_account.bic,
        )
        if party.bank_account.correspondent_account:
            details.set("КорСчет", party.bank_account.correspondent_account)


def _goods_line(table: etree._Element, line: DocumentLine, unit_names: dict[str, str]) -> None:
    exempt = line.vat_mode == "exempt"
    item = etree.SubElement(
        table,
        "СведТов",
        НомСтр=str(line.line_no),
        НаимТов=line.description[:2000],
        ОКЕИ_Тов=line.okei_code,
        НаимЕдИзм=unit_names[line.okei_code],
        КолТов=str(line.quantity),
        # The format allows up to 11 decimals: the price that makes price × quantity the net.
        ЦенаТов=_unit_price(line.amount_net, line.quantity),
        СтТовБезНДС=_money(line.amount_net),
        НалСт=VAT_EXEMPT if exempt else f"{line.vat_rate}%",
        СтТовУчНал=_money(line.amount_total),
    )
    etree.SubElement(item, "ДопСведТов", ПрТовРаб=SERVICE_MARK)
    _vat(etree.SubElement(item, "СумНал"), None if exempt else line.vat_amount)


def _vat(parent: etree._Element, amount: Decimal | None) -> None:
    """A СумНДСТип: the VAT sum, or the literal «без НДС» for exempt supplies."""
    if amount is None:
        etree.SubElement(parent, "БезНДС").text = VAT_EXEMPT
    else:
        etree.SubElement(parent, "СумНал").text = _money(amount)


def _full_name(parent: etree._Element, last: str, first: str, middle: str | None) -> None:
    name = etree.SubElement(parent, "ФИО", Фамилия=last, Имя=first)
    if middle:
        name.set("Отчество", middle)


def _is_individual_entrepreneur(party: Party) -> bool:
    # An ИП has a 12-digit personal INN; a legal entity a 10-digit one.
    return len(party.inn) == 12


def _entrepreneur_name(party: Party) -> tuple[str, str, str | None] | None:
    """Surname, name and patronymic of an ИП from its printed name («ИП Иванов Иван Иванович»)."""
    words = _IP_PREFIX.sub("", party.legal_name.strip()).split()
    if len(words) < 2 or any(len(word) > 60 for word in words):
        return None
    middle = " ".join(words[2:]) or None
    return words[0], words[1], middle


def _date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _money(value: Decimal) -> str:
    return str(value.quantize(KOPECK))


def _unit_price(net: Decimal, quantity: int) -> str:
    """The unit price printed so that quantity × price gives the line's net: kopecks when they
    do (the usual case), else as many decimals as needed, up to the format's 11."""
    exact = net / quantity
    if exact == exact.quantize(KOPECK):
        return _money(exact)
    return format(exact.quantize(PRICE_PLACES).normalize(), "f")
