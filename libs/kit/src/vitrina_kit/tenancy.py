"""Tenancy in the query, not after it: what a caller may see is decided by the WHERE clause."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute

from vitrina_kit.auth import Caller


def visible_to(
    caller: Caller, owner: InstrumentedAttribute[uuid.UUID] | ColumnElement[Any]
) -> ColumnElement[bool]:
    """The condition "``owner`` is the caller's organization" — always true for the operator.

    Rows outside it do not exist for the caller: a lookup finds nothing and answers 404, so ids
    of other organizations' resources leak nothing.
    """
    if caller.is_operator:
        return true()
    return owner == caller.organization_id
