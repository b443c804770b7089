"""The storefront's rules without a database: search terms, cursors, filters."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog.storefront.domain import (
    Filters,
    InvalidCursor,
    Position,
    PriceRangeInverted,
    Sort,
    search_query,
    stem_variants,
)


@pytest.mark.parametrize(
    ("stem", "variants"),
    [
        ("облак", ["облак", "облач"]),  # облако → облачный
        ("облачн", ["облачн", "облак"]),  # облачный → облако
        ("бумажн", ["бумажн", "бумаг"]),  # бумажный → бумага
        ("сервер", ["сервер"]),
        ("1с", ["1с"]),
    ],
)
def test_a_stem_is_searched_with_its_derivational_neighbour(stem: str, variants: list[str]) -> None:
    assert stem_variants(stem) == variants


def test_every_word_is_required_each_as_a_prefix_of_its_variants() -> None:
    assert search_query(["сервер", "облак"]) == "('облак':* | 'облач':*) & 'сервер':*"


def test_short_stems_match_whole_lexemes_only() -> None:
    assert search_query(["1с"]) == "'1с'"


def test_nothing_left_to_search_for() -> None:
    assert search_query([]) is None


def test_quotes_in_a_lexeme_cannot_become_tsquery_operators() -> None:
    assert search_query(["o'reilly"]) == "'o''reilly':*"
    assert search_query(["a\\b"]) == "'a\\\\b':*"


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        (Sort.RELEVANCE, 0.0607927),
        (Sort.NAME, "Облачный сервер"),
        (Sort.PRICE, Decimal("1490.00")),
        (Sort.PRICE_DESC, Decimal("0.50")),
        (Sort.NEWEST, datetime(2026, 11, 25, 12, 0, 1, 123456, tzinfo=UTC)),
    ],
)
def test_a_cursor_round_trips_exactly(sort: Sort, key: float | str | Decimal | datetime) -> None:
    position = Position(sort, key, uuid.uuid4())
    assert Position.decode(position.encode(), sort) == position


def test_a_cursor_of_another_sort_is_refused() -> None:
    cursor = Position(Sort.NAME, "Антивирус", uuid.uuid4()).encode()
    with pytest.raises(InvalidCursor):
        Position.decode(cursor, Sort.PRICE)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        "bm90IGpzb24",  # "not json"
        Position(Sort.NAME, "x", uuid.uuid4()).encode()[:-3],
    ],
)
def test_a_damaged_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        Position.decode(cursor, Sort.NAME)


def forged(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        (Sort.PRICE, "NaN"),
        (Sort.PRICE, "дёшево"),
        (Sort.NAME, 5),
        (Sort.RELEVANCE, "0.5"),
        (Sort.RELEVANCE, True),
        (Sort.NEWEST, "2026-11-25T12:00:00"),  # no time zone
    ],
)
def test_a_cursor_with_a_key_of_the_wrong_kind_is_refused(sort: Sort, key: object) -> None:
    with pytest.raises(InvalidCursor):
        Position.decode(forged(sort.value, key, str(uuid.uuid4())), sort)


def test_an_inverted_price_range_is_refused() -> None:
    with pytest.raises(PriceRangeInverted):
        Filters(price_min=Decimal("100"), price_max=Decimal("99.99"))
    assert Filters(price_min=Decimal("100"), price_max=Decimal("100")).price_max == 100
