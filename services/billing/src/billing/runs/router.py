"""The operator runs billing for a day (renewals) or a month (period close), and reads what
every run did."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select, tuple_

from billing.dependencies import SessionsDep, SettingsDep
from billing.invoices.documents import seller
from billing.runs import service
from billing.runs.jobs import rules
from billing.runs.models import BillingRun
from billing.runs.schemas import RunCreate, RunPage, RunRead
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.ops import OperatorOnly
from vitrina_kit.pagination import decode_cursor, encode_cursor
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/billing-runs", tags=["billing runs"], responses=PROBLEM_RESPONSES)

Operator = Annotated[Caller, requires("billing:write")]
Reader = Annotated[Caller, requires("billing:read")]


def _operator(caller: Caller) -> None:
    if not caller.is_operator:
        raise OperatorOnly("Billing runs are the marketplace operator's.")


@router.post("", status_code=201, response_model=RunRead)
async def start_run(
    body: RunCreate,
    caller: Operator,
    settings: SettingsDep,
    sessions: SessionsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Run renewals, a period close, the dunning check or settlements now and answer what it
    did. Each customer's (partner's) documents commit on their own, so a repeated or
    concurrent run issues nothing twice."""
    _operator(caller)
    today = datetime.now(UTC).date()
    request = service.RunRequest(
        body.kind,
        body.date,
        service.run_period(body.kind, body.date, today=today),
        requested_by=caller.client_id,
    )
    return await idempotency.respond(
        lambda: service.execute(
            sessions,
            seller(settings),
            request,
            concurrency=settings.run_concurrency,
            rules=rules(settings),
        ),
        response_model=RunRead,
        location=lambda run: f"/billing-runs/{run.run_id}",
    )


@router.get("", response_model=RunPage)
async def list_runs(
    caller: Reader,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RunPage:
    """Operator: the runs, newest first, with what each did."""
    _operator(caller)
    query = select(BillingRun)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(tuple_(BillingRun.started_at, BillingRun.run_id) < tuple_(*after))
    query = query.order_by(BillingRun.started_at.desc(), BillingRun.run_id.desc())
    rows = list(await session.scalars(query.limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = encode_cursor((rows[-1].started_at, rows[-1].run_id)) if more else None
    return RunPage(items=[RunRead.model_validate(row) for row in rows], next_cursor=next_cursor)
