"""Check digits of INN, OGRN and KPP (the contracts' types) and of bank accounts (identity's),
on real requisites of well-known companies and on the same numbers with one digit changed."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from identity.organizations.domain import (
    correspondent_account_is_valid,
    kpp_problem,
    ogrn_problem,
    settlement_account_is_valid,
)
from vitrina_contracts.events.base import Inn, Kpp, Ogrn, inn_is_valid, kpp_is_valid, ogrn_is_valid

REAL_INNS = [
    "7707083893",  # ПАО Сбербанк
    "7736207543",  # ООО «Яндекс»
    "7707049388",  # ПАО «Ростелеком»
    "7736050003",  # ПАО «Газпром»
    "500100732259",  # an individual's INN, the usual published example
]
REAL_OGRNS = [
    "1027700132195",  # ПАО Сбербанк
    "1027700229193",  # ООО «Яндекс»
    "1027700198767",  # ПАО «Ростелеком»
    "1027700070518",  # ПАО «Газпром»
    "304500116000157",  # an entrepreneur's OGRNIP
]


def _one_digit_off(number: str, position: int) -> str:
    digit = (int(number[position]) + 1) % 10
    return number[:position] + str(digit) + number[position + 1 :]


@pytest.mark.parametrize("inn", REAL_INNS)
def test_real_inns_pass_and_any_changed_digit_fails(inn: str) -> None:
    assert inn_is_valid(inn)
    assert TypeAdapter(Inn).validate_python(inn) == inn
    for position in range(len(inn)):
        assert not inn_is_valid(_one_digit_off(inn, position)), position


@pytest.mark.parametrize("ogrn", REAL_OGRNS)
def test_real_ogrns_pass_and_a_wrong_check_digit_fails(ogrn: str) -> None:
    assert ogrn_is_valid(ogrn)
    assert TypeAdapter(Ogrn).validate_python(ogrn) == ogrn
    assert not ogrn_is_valid(_one_digit_off(ogrn, len(ogrn) - 1))


def test_a_twelve_digit_inn_has_two_check_digits() -> None:
    assert not inn_is_valid("500100732269")  # the 11th digit wrong, the 12th as before
    assert not inn_is_valid("500100732258")  # the 12th wrong


@pytest.mark.parametrize(
    "value", ["", "770708389", "77070838931", "77070838933a", "٧٧٠٧٠٨٣٨٩٣", "7707 83893"]
)
def test_inn_of_the_wrong_shape_is_invalid(value: str) -> None:
    assert not inn_is_valid(value)
    with pytest.raises(ValidationError):
        TypeAdapter(Inn).validate_python(value)


def test_the_validation_error_says_it_is_the_check_digit() -> None:
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(Inn).validate_python("7707083894")
    assert "check digit" in str(raised.value)


@pytest.mark.parametrize("kpp", ["773601001", "770401001", "7701AB001"])
def test_kpps_of_the_right_shape_are_valid(kpp: str) -> None:
    assert kpp_is_valid(kpp)
    assert TypeAdapter(Kpp).validate_python(kpp) == kpp


@pytest.mark.parametrize("kpp", ["000001001", "77360100", "7736a1001", "A73601001"])
def test_kpps_of_the_wrong_shape_are_invalid(kpp: str) -> None:
    assert not kpp_is_valid(kpp)
    with pytest.raises(ValidationError):
        TypeAdapter(Kpp).validate_python(kpp)


def test_a_legal_entity_needs_a_kpp_an_entrepreneur_has_none() -> None:
    assert kpp_problem("7707083893", "773601001") is None
    assert kpp_problem("500100732259", None) is None
    assert kpp_problem("7707083893", None) == "a legal entity (10-digit INN) must have a KPP"
    assert kpp_problem("500100732259", "773601001") is not None


def test_the_ogrn_length_follows_the_inn() -> None:
    assert ogrn_problem("7707083893", "1027700132195") is None
    assert ogrn_problem("500100732259", "304500116000157") is None
    assert ogrn_problem("7707083893", None) is None
    assert ogrn_problem("7707083893", "304500116000157") is not None
    assert ogrn_problem("500100732259", "1027700132195") is not None


SBERBANK_BIK = "044525225"
SBERBANK_CORRESPONDENT = "30101810400000000225"
VTB_BIK = "044525187"
VTB_CORRESPONDENT = "30101810700000000187"


def test_real_correspondent_accounts_match_their_bik() -> None:
    assert correspondent_account_is_valid(SBERBANK_CORRESPONDENT, SBERBANK_BIK)
    assert correspondent_account_is_valid(VTB_CORRESPONDENT, VTB_BIK)
    assert not correspondent_account_is_valid(SBERBANK_CORRESPONDENT, VTB_BIK)
    assert not correspondent_account_is_valid(
        _one_digit_off(SBERBANK_CORRESPONDENT, 8), SBERBANK_BIK
    )


def test_a_settlement_account_is_keyed_with_its_bank() -> None:
    account = "40702810938000012345"
    assert settlement_account_is_valid(account, SBERBANK_BIK)
    assert not settlement_account_is_valid(_one_digit_off(account, 8), SBERBANK_BIK)
    assert not settlement_account_is_valid(_one_digit_off(account, 19), SBERBANK_BIK)
    assert not settlement_account_is_valid(account, VTB_BIK)


@pytest.mark.parametrize(
    ("account", "bik"),
    [("4070281093800001234", SBERBANK_BIK), ("40702810938000012345", "04452522"), ("", "")],
)
def test_accounts_and_biks_of_the_wrong_length_are_invalid(account: str, bik: str) -> None:
    assert not settlement_account_is_valid(account, bik)
    assert not correspondent_account_is_valid(account, bik)
