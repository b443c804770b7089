"""The base of every event and the value types events share.

Events are facts other services build on, so they are frozen, and they ignore fields they do not
know: a producer may add optional fields (backward-compatibly) before every consumer upgrades.
"""

from __future__ import annotations

from abc import abstractmethod
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

# [0-9], not \d: pydantic's regex engine treats every Unicode digit as \d.
Inn = Annotated[str, StringConstraints(pattern=r"^([0-9]{10}|[0-9]{12})$")]
"""Taxpayer number (ИНН): 10 digits for an organization, 12 for an individual entrepreneur."""

# Positions 5-6 of a KPP (the reason code) may be Latin capitals since 2013, so the shape is
# 4 digits, 2 digits-or-letters, 3 digits. Check digits are validated elsewhere, later.
Kpp = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}[0-9A-Z]{2}[0-9]{3}$")]
"""Tax registration reason code (КПП): 9 characters; organizations only."""

Ogrn = Annotated[str, StringConstraints(pattern=r"^([0-9]{13}|[0-9]{15})$")]
"""State registration number: 13 digits (ОГРН) or 15 for an entrepreneur (ОГРНИП)."""

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
