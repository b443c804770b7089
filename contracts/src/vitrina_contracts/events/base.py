"""The base of every event and the value types events share.

Events are facts other services build on, so they are frozen, and they ignore fields they do not
know: a producer may add optional fields (backward-compatibly) before every consumer upgrades.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Callable
from decimal import Decimal
from operator import attrgetter
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

KOPECK = Decimal("0.01")
"""The quantum of every amount: roubles with two decimal places."""

MONEY_PATTERN = r"^-?[0-9]{1,17}\.[0-9]{2}$"
"""Money on the wire: a string, always with exactly two decimals (NUMERIC(19,2))."""


def _to_kopecks(value: Decimal) -> Decimal:
    # Exact: validation already refused anything with more than two decimals, so this only
    # pads "1500" to "1500.00" and the wire form is the same whatever the producer passed.
    return value.quantize(KOPECK)


Money = Annotated[
    Decimal,
    # A float is accepted only when it carries no more than kopecks (0.1 is fine, 0.105 or
    # 0.1 + 0.2 are not), so a float-based rounding error fails loudly instead of travelling.
    Field(max_digits=19, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_to_kopecks),
    # A string, never a JSON number: JSON parsers read numbers as binary floats.
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": MONEY_PATTERN,
            "description": "Amount in roubles with exactly two decimals (kopecks), e.g. 1500.00.",
        }
    ),
]
"""An amount of roubles: ``Decimal`` with exactly two decimal places, a string in JSON."""

# The check digits of the registration numbers (Federal Tax Service rules): pure functions, so
# identity's domain, the events and anyone validating a requisite share one implementation.
_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11_WEIGHTS = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_DIGITS = re.compile(r"[0-9]+")
_KPP_SHAPE = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")


def _inn_check_digit(digits: str, weights: tuple[int, ...]) -> str:
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10)


def inn_is_valid(inn: str) -> bool:
    """An INN with the right check digit(s): 10 digits (one check digit, the last) for an
    organization, 12 (two check digits, the last two) for an individual or entrepreneur."""
    if not _DIGITS.fullmatch(inn):
        return False
    if len(inn) == 10:
        return inn[9] == _inn_check_digit(inn[:9], _INN10_WEIGHTS)
    if len(inn) == 12:
        return inn[10] == _inn_check_digit(inn[:10], _INN11_WEIGHTS) and (
            inn[11] == _inn_check_digit(inn[:11], _INN12_WEIGHTS)
        )
    return False


def ogrn_is_valid(ogrn: str) -> bool:
    """An OGRN (13 digits: the first 12 mod 11, mod 10) or OGRNIP (15 digits: the first 14
    mod 13, mod 10) whose last digit is its check digit."""
    if not _DIGITS.fullmatch(ogrn):
        return False
    if len(ogrn) == 13:
        return int(ogrn[:12]) % 11 % 10 == int(ogrn[12])
    if len(ogrn) == 15:
        return int(ogrn[:14]) % 13 % 10 == int(ogrn[14])
    return False


def kpp_is_valid(kpp: str) -> bool:
    """A KPP of the right shape. It has no check digit: 4 digits of the tax office, 2 of the
    reason (digits, or Latin capitals since 2013), 3 of the sequence number."""
    return _KPP_SHAPE.fullmatch(kpp) is not None and kpp[:4] != "0000"


def _checked(is_valid: Callable[[str], bool], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not is_valid(value):
            raise ValueError(f"{what} {value!r} fails its check digit")
        return value

    return check


# [0-9], not \d: pydantic's regex engine treats every Unicode digit as \d. The patterns stay in
# the JSON Schema; the check digits are enforced by whoever validates with these models.
Inn = Annotated[
    str,
    StringConstraints(pattern=r"^([0-9]{10}|[0-9]{12})$"),
    AfterValidator(_checked(inn_is_valid, "INN")),
]
"""Taxpayer number (ИНН): 10 digits for an organization, 12 for an individual entrepreneur;
validated with its check digits."""

# Positions 5-6 of a KPP (the reason code) may be Latin capitals since 2013, so the shape is
# 4 digits, 2 digits-or-letters, 3 digits.
Kpp = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{4}[0-9A-Z]{2}[0-9]{3}$"),
    AfterValidator(_checked(kpp_is_valid, "KPP")),
]
"""Tax registration reason code (КПП): 9 characters; organizations only."""

Ogrn = Annotated[
    str,
    StringConstraints(pattern=r"^([0-9]{13}|[0-9]{15})$"),
    AfterValidator(_checked(ogrn_is_valid, "OGRN")),
]
"""State registration number: 13 digits (ОГРН) or 15 for an entrepreneur (ОГРНИП); validated
with its check digit."""

VatMode = Literal["standard", "exempt"]
"""``standard``: VAT at the rate of the supply date; ``exempt``: "без НДС"."""

Currency = Literal["RUB"]
"""Every amount is in roubles; a field of this type leaves room for more, by widening."""


class ContractModel(BaseModel):
    """Base of every model in an event: frozen, and tolerant of fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(ContractModel):
    """A fact one service publishes for others: the ``data`` of a CloudEvent.

    Every concrete event names its CloudEvents type and its topic, and provides a realistic
    example (contract tests feed the examples to every consumer).
    """

    event_type: ClassVar[str]
    """The full CloudEvents type, ``ru.vitrina.<service>.<aggregate>.<verb>``."""

    topic: ClassVar[str]
    """The topic the event is published on, ``<service>.<aggregate>``."""

    aggregate_field: ClassVar[str]
    """Where the aggregate id is in the event, dotted (``product.product_id``)."""

    def aggregate_id(self) -> str:
        """The id of the aggregate the event is about: the envelope's subject, the Kafka key."""
        return str(attrgetter(self.aggregate_field)(self))

    @classmethod
    @abstractmethod
    def example(cls) -> Self:
        """A realistic, valid instance of this event (every concrete event must provide one)."""
