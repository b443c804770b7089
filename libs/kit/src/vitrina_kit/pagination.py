"""Keyset cursors for listings ordered by (an instant, an id): an opaque token a client passes
back unchanged. Positions, unlike offsets, do not shift when rows are added meanwhile: a page
never repeats nor skips a row because another appeared on an earlier page."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from vitrina_kit.problems import UnprocessableEntity

Position = tuple[datetime, uuid.UUID]
"""The last row of a page: its instant in the listing's order, and its id (ids break ties)."""


class InvalidCursor(UnprocessableEntity):
    code = "invalid_cursor"
    title = "The cursor is not one this API gave out"

    def __init__(
        self, detail: str = "Pass back the next_cursor of a previous page unchanged."
    ) -> None:
        super().__init__(
            detail,
            **{"invalid-params": [{"name": "query.cursor", "reason": "not a valid cursor"}]},
        )


def encode_cursor(position: Position) -> str:
    at, row_id = position
    text = json.dumps([at.isoformat(), str(row_id)])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    """The position after which the next page starts; None for the first page."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, row_id = json.loads(base64.urlsafe_b64decode(padded))
        position = datetime.fromisoformat(at), uuid.UUID(row_id)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidCursor() from error
    if position[0].tzinfo is None:
        raise InvalidCursor()
    return position
