"""The UPD builder: every document it produces validates against the official FNS XSD 5.03."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from importlib.resources import as_file, files
from pathlib import Path
from uuid import UUID

import pytest
from lxml import etree

from integrations.edo.upd import (
    SCHEMA_NAME,
    Basis,
    Signer,
    UpdFile,
    UpdRuleError,
    UpdSchemaError,
    build_upd,
    validate,
)
from vitrina_contracts.events.billing import (
    ClosingDocument,
    ClosingDocumentIssued,
    DocumentLine,
    Party,
)

SIGNER = Signer(
    last_name="Петрова", first_name="Анна", middle_name="Сергеевна", position="Генеральный директор"
)
FORMED_AT = datetime(2026, 1, 31, 9, 5, 7)
GUID = UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
KOPECK = Decimal("0.01")


def line(
    *,
    line_no: int = 1,
    description: str = "Облачный сервер, тариф «Старт», январь 2026",
    quantity: int = 1,
    unit_price: str = "1000.00",
    vat_rate: int | None = 22,
    okei_code: str = "796",
) -> DocumentLine:
    net = (Decimal(unit_price) * quantity).quantize(KOPECK)
    vat = Decimal(0) if vat_rate is None else (net * vat_rate / 100).quantize(KOPECK)
    return DocumentLine(
        line_no=line_no,
        description=description,
        quantity=quantity,
        okei_code=okei_code,
        unit_price=Decimal(unit_price),
        amount_net=net,
        vat_mode="exempt" if vat_rate is None else "standard",
        vat_rate=vat_rate,
        vat_amount=vat,
        amount_total=net + vat,
    )


def closing_document(
    *,
    lines: tuple[DocumentLine, ...] = (),
    buyer: Party | None = None,
    period: tuple[date, date] = (date(2026, 1, 1), date(2026, 1, 31)),
    number: str = "2026-000017",
) -> ClosingDocument:
    example = ClosingDocumentIssued.example().document
    lines = lines or (line(),)
    return ClosingDocument(
        document_id=example.document_id,
        number=number,
        issued_on=period[1],
        seller=example.seller,
        buyer=buyer or example.buyer,
        lines=lines,
        amount_net=sum((item.amount_net for item in lines), Decimal(0)),
        vat_amount=sum((item.vat_amount for item in lines), Decimal(0)),
        amount_total=sum((item.amount_total for item in lines), Decimal(0)),
        period_start=period[0],
        period_end=period[1],
    )


def build(document: ClosingDocument, **kwargs: object) -> UpdFile:
    return build_upd(document, signer=SIGNER, formed_at=FORMED_AT, guid=GUID, **kwargs)  # type: ignore[arg-type]


def parsed(upd: UpdFile) -> etree._Element:
    return etree.fromstring(upd.content)


def assert_valid_everywhere(upd: UpdFile, tmp_path: Path) -> None:
    """xmlschema via `validate`, and libxml2 (lxml's XMLSchema, and xmllint where installed)."""
    validate(upd.content, file_name=upd.file_name)
    with as_file(files("integrations.edo") / "schemas" / SCHEMA_NAME) as xsd:
        schema = etree.XMLSchema(etree.parse(str(xsd)))
        assert schema.validate(etree.fromstring(upd.content)), schema.error_log
        xmllint = shutil.which("xmllint")
        if xmllint:
            target = tmp_path / upd.file_name
            target.write_bytes(upd.content)
            run = subprocess.run(
                [xmllint, "--noout", "--schema", str(xsd), str(target)],
                capture_output=True,
                check=False,
            )
            assert run.returncode == 0, run.stderr.decode()


def test_the_contract_example_becomes_a_valid_upd(tmp_path: Path) -> None:
    upd = build_upd(ClosingDocumentIssued.example(), signer=SIGNER, formed_at=FORMED_AT, guid=GUID)

    assert_valid_everywhere(upd, tmp_path)
    root = parsed(upd)
    assert upd.file_id == (
        "ON_NSCHFDOPPR_2BM-5012345672-501201001-000000000000042"
        "_2BM-7704123450-770401001-000000000000001_20260131_7c9e6679-7425-40de-944b-e07fc1f90ae7"
    )
    assert root.get("ИдФайл") == upd.file_id
    assert upd.file_name == f"{upd.file_id}.xml"
    assert root.get("ВерсФорм") == "5.03"
    document = root.find("Документ")
    assert document is not None
    assert (document.get("КНД"), document.get("Функция")) == ("1115131", "СЧФДОП")
    assert document.get("ДатаИнфПр") == "31.01.2026"
    assert document.get("ВремИнфПр") == "09.05.07"
    assert root.findtext("Документ/ТаблСчФакт/ВсегоОпл/СумНалВсего/СумНал") == "900.00"


def test_the_file_is_windows_1251_and_says_so() -> None:
    upd = build(closing_document())

    assert upd.content.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    assert "Облачный сервер".encode("cp1251") in upd.content
    assert "Облачный сервер".encode() not in upd.content


def test_several_lines_at_22_percent_in_2026(tmp_path: Path) -> None:
    lines = (
        line(line_no=1, quantity=10, unit_price="450.00"),
        line(line_no=2, description="Резервное копирование, 100 ГБ", unit_price="333.33"),
        line(line_no=3, description="Виртуальная АТС, 3 линии", quantity=3, unit_price="0.01"),
    )
    upd = build(closing_document(lines=lines))

    assert_valid_everywhere(upd, tmp_path)
    rows = parsed(upd).findall("Документ/ТаблСчФакт/СведТов")
    assert [row.get("НомСтр") for row in rows] == ["1", "2", "3"]
    assert {row.get("НалСт") for row in rows} == {"22%"}
    assert [row.findtext("СумНал/СумНал") for row in rows] == ["990.00", "73.33", "0.01"]
    totals = parsed(upd).find("Документ/ТаблСчФакт/ВсегоОпл")
    assert totals is not None
    assert totals.get("СтТовБезНДСВсего") == "4833.36"
    assert totals.get("СтТовУчНалВсего") == "5896.70"
    assert totals.findtext("СумНалВсего/СумНал") == "1063.34"


def test_20_percent_in_2025(tmp_path: Path) -> None:
    document = closing_document(
        lines=(line(vat_rate=20, description="Антивирус, декабрь 2025"),),
        period=(date(2025, 12, 1), date(2025, 12, 31)),
    )
    upd = build(document)

    assert_valid_everywhere(upd, tmp_path)
    row = parsed(upd).find("Документ/ТаблСчФакт/СведТов")
    assert row is not None
    assert row.get("НалСт") == "20%"
    period = parsed(upd).find("Документ/СвПродПер/СвПер")
    assert period is not None
    assert (period.get("ДатаНачПер"), period.get("ДатаОконПер")) == ("01.12.2025", "31.12.2025")


def test_vat_exempt_lines_say_bez_nds(tmp_path: Path) -> None:
    lines = (line(line_no=1, vat_rate=None), line(line_no=2, vat_rate=22))
    upd = build(closing_document(lines=lines))

    assert_valid_everywhere(upd, tmp_path)
    exempt, taxed = parsed(upd).findall("Документ/ТаблСчФакт/СведТов")
    assert exempt.get("НалСт") == "без НДС"
    assert exempt.findtext("СумНал/БезНДС") == "без НДС"
    assert exempt.get("СтТовУчНал") == "1000.00"
    assert taxed.findtext("СумНал/СумНал") == "220.00"
    assert parsed(upd).findtext("Документ/ТаблСчФакт/ВсегоОпл/СумНалВсего/СумНал") == "220.00"


def test_an_all_exempt_document_has_no_vat_total(tmp_path: Path) -> None:
    upd = build(closing_document(lines=(line(vat_rate=None), line(line_no=2, vat_rate=None))))

    assert_valid_everywhere(upd, tmp_path)
    assert parsed(upd).findtext("Документ/ТаблСчФакт/ВсегоОпл/СумНалВсего/БезНДС") == "без НДС"


def test_names_with_quotes_and_ampersands_survive(tmp_path: Path) -> None:
    long_name = (
        'Общество с ограниченной ответственностью «Рога & Копыта» "Северо-Западный филиал" '
        + "и партнёры " * 40
    ).strip()
    buyer = ClosingDocumentIssued.example().document.buyer.model_copy(
        update={
            "legal_name": long_name,
            "address": 'г. Санкт-Петербург, ул. «Садовая» & "Ко", д. 1',
        }
    )
    description = 'Сервис «Проект & Задачи» "Бизнес" <PRO>, ' + "место, " * 200
    upd = build(closing_document(buyer=buyer, lines=(line(description=description),)))

    assert_valid_everywhere(upd, tmp_path)
    buyer_element = parsed(upd).find("Документ/СвСчФакт/СвПокуп/ИдСв/СвЮЛУч")
    assert buyer_element is not None
    assert buyer_element.get("НаимОрг") == long_name
    row = parsed(upd).find("Документ/ТаблСчФакт/СведТов")
    assert row is not None
    assert row.get("НаимТов") == description[:2000]
    assert b"&amp;" in upd.content
    assert b"&quot;" in upd.content


def test_an_individual_entrepreneur_buyer(tmp_path: Path) -> None:
    buyer = Party(
        organization_id=UUID("0b7e4f0a-3c59-4f0e-9a51-6a0c2d1e0099"),
        legal_name="ИП Сидоров Пётр Алексеевич",
        inn="500100732259",
        address="141000, Московская обл., г. Мытищи, ул. Мира, д. 5",
        edo_participant_id="2BM-500100732259-000000000000077",
    )
    upd = build(closing_document(buyer=buyer))

    assert_valid_everywhere(upd, tmp_path)
    entrepreneur = parsed(upd).find("Документ/СвСчФакт/СвПокуп/ИдСв/СвИП")
    assert entrepreneur is not None
    assert entrepreneur.get("ИННФЛ") == "500100732259"
    name = entrepreneur.find("ФИО")
    assert name is not None
    assert (name.get("Фамилия"), name.get("Имя"), name.get("Отчество")) == (
        "Сидоров",
        "Пётр",
        "Алексеевич",
    )
    assert upd.file_id.startswith("ON_NSCHFDOPPR_2BM-500100732259-000000000000077_")


def test_a_basis_document_replaces_bez_dok_osn(tmp_path: Path) -> None:
    basis = Basis(name="Договор-оферта", number="ВТ-1/2025", issued_on=date(2025, 3, 1))
    upd = build(closing_document(), basis=basis)

    assert_valid_everywhere(upd, tmp_path)
    grounds = parsed(upd).find("Документ/СвПродПер/СвПер/ОснПер")
    assert grounds is not None
    assert grounds.get("РеквДатаДок") == "01.03.2025"


def test_a_broken_document_fails_validation_loudly() -> None:
    upd = build(closing_document())
    root = parsed(upd)
    document = root.find("Документ")
    assert document is not None
    document.set("КНД", "1115125")
    document.remove(document.find("ТаблСчФакт"))  # type: ignore[arg-type]
    broken = b'<?xml version="1.0" encoding="windows-1251"?>\n' + etree.tostring(
        root, encoding="windows-1251", xml_declaration=False
    )

    with pytest.raises(UpdSchemaError) as caught:
        validate(broken)

    assert len(caught.value.errors) >= 1
    assert "КНД" in str(caught.value) or "1115125" in str(caught.value)


def test_a_file_name_other_than_the_id_is_rejected() -> None:
    upd = build(closing_document())

    with pytest.raises(UpdSchemaError, match="does not match @ИдФайл"):
        validate(upd.content, file_name="renamed.xml")


def test_not_xml_at_all_is_rejected() -> None:
    with pytest.raises(UpdSchemaError, match="not well-formed"):
        validate(b"<\xd4\xe0\xe9\xeb")


def test_a_prorated_line_prints_the_price_that_gives_its_net(tmp_path: Path) -> None:
    # Billing: 10 seats for 10 of 30 days of 490.00 → 1633.33 net, unit price 163.33 (rounded).
    net, vat = Decimal("1633.33"), Decimal("359.33")
    prorated = line(quantity=10, unit_price="163.33").model_copy(
        update={"amount_net": net, "vat_amount": vat, "amount_total": net + vat}
    )
    upd = build(closing_document(lines=(prorated,)))

    assert_valid_everywhere(upd, tmp_path)
    (row,) = parsed(upd).findall("Документ/ТаблСчФакт/СведТов")
    assert row.get("ЦенаТов") == "163.333"
    assert row.get("СтТовБезНДС") == "1633.33"


def test_rules_outside_the_xsd_are_checked_before_building() -> None:
    bad_line = line().model_copy(update={"unit_price": Decimal("999.00")})
    document = closing_document(lines=(bad_line,))

    with pytest.raises(UpdRuleError, match=r"quantity 1 × price 999.00 ≠ net amount 1000.00"):
        build(document)


def test_an_unknown_unit_and_a_missing_edo_id_are_listed_together() -> None:
    buyer = ClosingDocumentIssued.example().document.buyer.model_copy(
        update={"edo_participant_id": None}
    )
    document = closing_document(buyer=buyer, lines=(line(okei_code="9999"),))

    with pytest.raises(UpdRuleError) as caught:
        build(document)

    assert len(caught.value.errors) == 2
    assert "OKEI code 9999" in str(caught.value)
    assert "receiver" in str(caught.value)


def test_a_signer_needing_a_power_of_attorney_is_refused() -> None:
    signer = Signer(last_name="Иванов", first_name="Иван", position="Менеджер", authority="3")

    with pytest.raises(UpdRuleError, match="power of attorney"):
        build_upd(closing_document(), signer=signer, formed_at=FORMED_AT)
