from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from vitrina_contracts.events.base import MONEY_PATTERN, Inn, Kpp, Money, Ogrn


class Priced(BaseModel):
    amount: Money


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (Decimal("1500"), "1500.00"),
        (Decimal("1500.5"), "1500.50"),
        ("12.3", "12.30"),
        (7, "7.00"),
        (0.1, "0.10"),  # a float that carries no more than kopecks is unambiguous
        (Decimal("-25.00"), "-25.00"),
    ],
)
def test_money_is_kopecks_and_a_string_in_json(given: object, expected: str) -> None:
    priced = Priced(amount=given)

    assert priced.amount == Decimal(expected)
    assert priced.amount.as_tuple().exponent == -2
    assert json.loads(priced.model_dump_json()) == {"amount": expected}
    assert priced.model_dump() == {"amount": Decimal(expected)}  # Python keeps the Decimal


@pytest.mark.parametrize(
    "given",
    [
        1500.005,
        0.1 + 0.2,  # 0.30000000000000004: float arithmetic must not pass as money
        float("nan"),
        float("inf"),
        "NaN",
        "Infinity",
        "12.345",
        Decimal("123456789012345678.00"),  # beyond NUMERIC(19,2)
        True,
        "twelve",
    ],
)
def test_money_rejects_what_is_not_kopecks(given: object) -> None:
    with pytest.raises(ValidationError):
        Priced(amount=given)


def test_money_json_schema_is_a_string_with_a_pattern_matching_its_serialization() -> None:
    schema = TypeAdapter(Money).json_schema(mode="serialization")

    assert schema["type"] == "string"
    assert schema["pattern"] == MONEY_PATTERN
    for amount in ("0.00", "1500.00", "-3.10", "99999999999999999.99"):
        assert re.fullmatch(MONEY_PATTERN, Priced(amount=amount).model_dump(mode="json")["amount"])
    for wire in ("1500", "1500.0", "1,500.00", "1500.000", "1e3"):
        assert not re.fullmatch(MONEY_PATTERN, wire)


@pytest.mark.parametrize(
    ("adapter", "valid", "invalid"),
    [
        (
            TypeAdapter(Inn),
            ["7704123450", "771234567859"],
            ["770412345", "77041234501", "7704123450123", "77O4123450", "٧٧٠٤١٢٣٤٥٠"],
        ),
        (
            TypeAdapter(Kpp),
            ["770401001", "7701AB001"],  # letters are allowed in the reason code (positions 5-6)
            ["77040100", "7704010011", "7701ab001", "A70401001", "٧٧٠٤٠١٠٠١"],
        ),
        (
            TypeAdapter(Ogrn),
            ["1027700123450", "321774600123451"],
            ["102770012345", "10277001234501", "1027700I23450"],
        ),
    ],
    ids=["inn", "kpp", "ogrn"],
)
def test_requisites_have_their_shape(
    adapter: TypeAdapter[str], valid: list[str], invalid: list[str]
) -> None:
    for value in valid:
        assert adapter.validate_python(value) == value
    for value in invalid:  # Arabic-Indic digits too: "digit" means 0-9 here
        with pytest.raises(ValidationError):
            adapter.validate_python(value)
