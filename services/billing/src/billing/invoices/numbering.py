"""Document numbers: ``<prefix>-<year>-<sequence>``, e.g. ``СЧ-2026-000123``.

Each kind of document has its own sequence per calendar year of issue, starting at 1, without
gaps and never reused (a voided invoice keeps its number). Handing out the next sequence number
under concurrent issuing is the database's job (a counter row per kind and year, locked by the
transaction that issues the document); this module only formats and reads numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from vitrina_kit.problems import UnprocessableEntity

SEQUENCE_WIDTH = 6
"""Zero-padded to six digits, so numbers sort as text within a year; a seventh digit is allowed
(a number is never truncated), it only stops sorting as text."""


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    """Счёт на оплату."""
    CLOSING_DOCUMENT = "closing_document"
    """УПД (СЧФДОП): services rendered in a period."""
    CREDIT_NOTE = "credit_note"
    """УКД: a correction reducing a closing document."""
    SETTLEMENT = "settlement"
    """Отчёт агента: a partner's monthly settlement."""

    @property
    def prefix(self) -> str:
        return PREFIXES[self]


PREFIXES: dict[DocumentKind, str] = {
    DocumentKind.INVOICE: "СЧ",
    DocumentKind.CLOSING_DOCUMENT: "УПД",
    DocumentKind.CREDIT_NOTE: "УКД",
    DocumentKind.SETTLEMENT: "АО",
}
_KIND_BY_PREFIX = {prefix: kind for kind, prefix in PREFIXES.items()}
_NUMBER = re.compile(r"(?P<prefix>[А-ЯЁ]+)-(?P<year>[0-9]{4})-(?P<sequence>[0-9]{6,})")


class InvalidDocumentNumber(UnprocessableEntity):
    code = "invalid_document_number"
    title = "Not a document number"

    def __init__(self, text: str) -> None:
        super().__init__(
            f"{text!r} is not a document number such as СЧ-2026-000123.", number=text[:64]
        )


@dataclass(frozen=True, order=True)
class DocumentNumber:
    """A document's number: its kind, the year it was issued in, and its place in that year."""

    kind: DocumentKind
    year: int
    sequence: int

    def __post_init__(self) -> None:
        if not 2000 <= self.year <= 9999:
            raise ValueError(f"year {self.year} is out of range")
        if self.sequence < 1:
            raise ValueError("sequences start at 1")

    def __str__(self) -> str:
        return f"{self.kind.prefix}-{self.year}-{self.sequence:0{SEQUENCE_WIDTH}d}"

    @classmethod
    def parse(cls, text: str) -> DocumentNumber:
        """Read a number exactly as :meth:`__str__` writes it (an API path, a stored row).

        Raises:
            InvalidDocumentNumber: anything else; payment purposes are read by the payments
                domain, which is tolerant of how people type.
        """
        match = _NUMBER.fullmatch(text)
        kind = _KIND_BY_PREFIX.get(match["prefix"]) if match else None
        if match is None or kind is None:
            raise InvalidDocumentNumber(text)
        try:
            number = cls(kind, int(match["year"]), int(match["sequence"]))
        except ValueError:
            raise InvalidDocumentNumber(text) from None
        if str(number) != text:  # one number, one spelling: "СЧ-2026-0000123" is not ours
            raise InvalidDocumentNumber(text)
        return number
