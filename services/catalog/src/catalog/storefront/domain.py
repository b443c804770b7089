"""The storefront's rules: what a search asks for, how results are ordered, and where a page
ends. Plain values, no I/O.

Search leans on PostgreSQL's Russian stemmer (``облачный`` → ``облачн``, ``облако`` → ``облак``)
and adds what a stemmer does not do: a noun and the adjective made from it differ in their last
consonant (облако/облачный, бумага/бумажный, конец/конечный), so each stem is also looked up
with that consonant alternated, and as a prefix, so that a customer's ``облако`` finds an
``Облачный сервер`` and ``серв`` typed halfway finds it too.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from catalog.products.domain import PricingUnit
from vitrina_kit import pagination
from vitrina_kit.problems import UnprocessableEntity


class Sort(StrEnum):
    RELEVANCE = "relevance"
    """Best match first (needs a search query)."""
    NAME = "name"
    PRICE = "price"
    """Cheapest first, by the lowest price of the plans that match the filters."""
    PRICE_DESC = "-price"
    NEWEST = "newest"
    """Most recently published first."""

    @property
    def descending(self) -> bool:
        return self in {Sort.RELEVANCE, Sort.PRICE_DESC, Sort.NEWEST}


def default_sort(has_query: bool) -> Sort:
    return Sort.RELEVANCE if has_query else Sort.NEWEST


# Final consonants of a stem that alternate when a noun makes an adjective (and back): the
# velar alternations of Russian derivation, which carry most of the storefront's vocabulary.
_NOUN_TO_ADJECTIVE = {"к": "ч", "г": "ж", "х": "ш", "ц": "ч"}
_ADJECTIVE_TO_NOUN = {"ч": "к", "ж": "г", "ш": "х"}
_SHORTEST_PREFIX = 3
"""Stems shorter than this match whole lexemes only (a two-letter prefix matches too much)."""


def stem_variants(stem: str) -> list[str]:
    """The stem and the stems of the words derived from it or it from them."""
    variants = [stem]
    if len(stem) >= 4 and stem[-1] in _NOUN_TO_ADJECTIVE:
        variants.append(stem[:-1] + _NOUN_TO_ADJECTIVE[stem[-1]])
    if len(stem) >= 5 and stem[-1] == "н" and stem[-2] in _ADJECTIVE_TO_NOUN:
        variants.append(stem[:-2] + _ADJECTIVE_TO_NOUN[stem[-2]])
    return variants


def search_query(lexemes: Iterable[str]) -> str | None:
    """A ``tsquery`` (for the ``simple`` configuration) requiring every searched word.

    ``lexemes`` are what PostgreSQL's ``russian`` configuration made of the customer's words,
    stop words already dropped; each becomes its variants, as prefixes. None if nothing is left
    to search for.
    """
    terms = []
    for lexeme in sorted(set(lexemes)):
        options = [
            _quoted(variant) + (":*" if len(variant) >= _SHORTEST_PREFIX else "")
            for variant in stem_variants(lexeme)
        ]
        terms.append(options[0] if len(options) == 1 else "(" + " | ".join(options) + ")")
    return " & ".join(terms) or None


def _quoted(lexeme: str) -> str:
    # tsquery syntax: a quoted lexeme with quotes and backslashes escaped cannot be an operator.
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


class InvalidCursor(pagination.InvalidCursor):
    def __init__(self) -> None:
        super().__init__(
            "Pass back the next_cursor of a previous page unchanged, with the same sort."
        )


class RelevanceNeedsQuery(UnprocessableEntity):
    code = "relevance_needs_query"
    title = "Sorting by relevance needs a search query"

    def __init__(self) -> None:
        super().__init__("Give q= to sort by relevance, or choose another sort.")


class PriceRangeInverted(UnprocessableEntity):
    code = "price_range_inverted"
    title = "The minimum price is above the maximum"

    def __init__(self, minimum: Decimal, maximum: Decimal) -> None:
        super().__init__(f"price_min {minimum} is above price_max {maximum}.")


@dataclass(frozen=True)
class Filters:
    """What a customer narrows the storefront to. Plan-level filters (unit, price, trial) must
    all hold for one and the same public plan of a product."""

    category: str | None = None
    """A category's slug; a top-level category includes its subcategories."""
    partner_id: uuid.UUID | None = None
    pricing_unit: PricingUnit | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    """Bounds on a plan's unit price today (without VAT, as plans state prices)."""
    with_trial: bool = False

    def __post_init__(self) -> None:
        if (
            self.price_min is not None
            and self.price_max is not None
            and self.price_min > self.price_max
        ):
            raise PriceRangeInverted(self.price_min, self.price_max)


SortKey = float | str | Decimal | datetime
"""The value a page's last product had in the sort's order: rank, name, price or time."""


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last product's sort key and id (ids break ties).

    Keyset positions, unlike offsets, do not shift when products are published meanwhile: a
    product is never shown twice nor skipped because another appeared on an earlier page.
    """

    sort: Sort
    key: SortKey
    product_id: uuid.UUID

    def encode(self) -> str:
        key = self.key.isoformat() if isinstance(self.key, datetime) else self.key
        if isinstance(key, Decimal):
            key = str(key)
        raw = json.dumps([self.sort.value, key, str(self.product_id)], ensure_ascii=False)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str, sort: Sort) -> Position:
        """The position ``cursor`` stands for; a cursor of another sort is refused."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            cursor_sort, key, product_id = json.loads(raw)
            position = cls(sort, _key(sort, key), uuid.UUID(product_id))
        except (binascii.Error, ValueError, TypeError, InvalidOperation) as error:
            raise InvalidCursor() from error
        if cursor_sort != sort.value:
            raise InvalidCursor()
        return position


def _key(sort: Sort, key: object) -> SortKey:
    match sort:
        case Sort.RELEVANCE if isinstance(key, float | int) and not isinstance(key, bool):
            return float(key)
        case Sort.NAME if isinstance(key, str):
            return key
        case Sort.PRICE | Sort.PRICE_DESC if isinstance(key, str):
            price = Decimal(key)
            if not price.is_finite():
                raise ValueError("a price is a finite number")
            return price
        case Sort.NEWEST if isinstance(key, str):
            moment = datetime.fromisoformat(key)
            if moment.tzinfo is None:
                raise ValueError("a cursor's time is always aware")
            return moment
    raise ValueError(f"not a {sort} key")
