"""Reading issued documents, scoped to the caller in the query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from billing.invoices.models import ClosingDocument, CreditNote, Invoice
from vitrina_kit.auth import Caller
from vitrina_kit.pagination import Position
from vitrina_kit.tenancy import visible_to

Document = Invoice | ClosingDocument | CreditNote
D = TypeVar("D", Invoice, ClosingDocument, CreditNote)


def _key(model: type[Document]) -> InstrumentedAttribute[uuid.UUID]:
    return model.invoice_id if model is Invoice else model.document_id  # type: ignore[union-attr]


async def get_visible(
    session: AsyncSession, caller: Caller, model: type[D], document_id: uuid.UUID
) -> D | None:
    """The document if it exists and the caller may see it (else None: a 404, not a 403)."""
    query: Any = select(model).where(
        _key(model) == document_id, visible_to(caller, model.customer_id)
    )
    document: D | None = await session.scalar(query)
    return document


async def page(
    session: AsyncSession,
    caller: Caller,
    model: type[D],
    *,
    after: Position | None,
    limit: int,
    customer_id: uuid.UUID | None = None,
) -> Sequence[D]:
    """The caller's documents, newest first (the operator's: everyone's, or one customer's)."""
    key = _key(model)
    query: Any = select(model).where(visible_to(caller, model.customer_id))
    if customer_id is not None:
        query = query.where(model.customer_id == customer_id)
    if after is not None:
        query = query.where(tuple_(model.created_at, key) < tuple_(*after))
    query = query.order_by(model.created_at.desc(), key.desc()).limit(limit)
    return list(await session.scalars(query))
