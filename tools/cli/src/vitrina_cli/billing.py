"""``vitrina billing``: run billing as the operator and read what the runs did.

vitrina billing close --date 2026-01-31          # the period close for January 2026
vitrina billing run renewals --date 2026-02-01
vitrina billing runs
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vitrina_cli.operator import (
    BILLING_URL,
    DEFAULT_OPERATOR_CLIENT_ID,
    DEFAULT_OPERATOR_CLIENT_SECRET,
    IDENTITY_URL,
    BillingUrl,
    ClientId,
    ClientSecret,
    IdentityUrl,
    JsonOutput,
    operator_session,
    out,
)

app = typer.Typer(
    name="billing",
    help="Run billing (period close, renewals, dunning, settlements) and list the runs.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


class RunKind(StrEnum):
    """billing's ``RunKind``, spelled as its API spells it."""

    renewals = "renewals"
    period_close = "period_close"
    dunning = "dunning"
    settlements = "settlements"


_WHAT = {
    RunKind.renewals: "Renewals",
    RunKind.period_close: "Period close",
    RunKind.dunning: "Dunning check",
    RunKind.settlements: "Partner settlements",
}

DateOption = Annotated[
    dt.datetime,
    typer.Option(
        "--date",
        formats=["%Y-%m-%d"],
        help="period_close and settlements: any day of the month to close (once it is over); "
        "renewals and dunning: the day to run for (not after today).",
    ),
]


@app.command()
def close(
    date: DateOption,
    billing_url: BillingUrl = BILLING_URL,
    identity_url: IdentityUrl = IDENTITY_URL,
    operator_client_id: ClientId = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecret = DEFAULT_OPERATOR_CLIENT_SECRET,
    as_json: JsonOutput = False,
) -> None:
    """Close the billing period of the month of `--date`: closing documents (UPD) for what was
    rendered, and the next period's invoices. Safe to repeat: nothing is issued twice."""
    _run(
        RunKind.period_close,
        date.date(),
        billing_url=billing_url,
        identity_url=identity_url,
        client_id=operator_client_id,
        secret=operator_client_secret,
        as_json=as_json,
    )


@app.command("run")
def run_command(
    kind: Annotated[RunKind, typer.Argument(help="What to run.", case_sensitive=False)],
    date: DateOption,
    billing_url: BillingUrl = BILLING_URL,
    identity_url: IdentityUrl = IDENTITY_URL,
    operator_client_id: ClientId = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecret = DEFAULT_OPERATOR_CLIENT_SECRET,
    as_json: JsonOutput = False,
) -> None:
    """Run renewals, a period close, the dunning check or partner settlements now (what
    billing's scheduler does by itself) and show what the run did."""
    _run(
        kind,
        date.date(),
        billing_url=billing_url,
        identity_url=identity_url,
        client_id=operator_client_id,
        secret=operator_client_secret,
        as_json=as_json,
    )


@app.command()
def runs(
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many, newest first.")] = 20,
    billing_url: BillingUrl = BILLING_URL,
    identity_url: IdentityUrl = IDENTITY_URL,
    operator_client_id: ClientId = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecret = DEFAULT_OPERATOR_CLIENT_SECRET,
    as_json: JsonOutput = False,
) -> None:
    """List the billing runs, newest first, with what each did."""
    with operator_session(identity_url, operator_client_id, operator_client_secret) as operator:
        page = operator.get("billing", billing_url, "/billing-runs", limit=limit)
    items: list[dict[str, Any]] = page["items"]
    if as_json:
        typer.echo(json.dumps(items, ensure_ascii=False))
        return
    if not items:
        out.print("No billing runs yet.")
        return
    table = Table(header_style="bold", box=None, pad_edge=False)
    for column in ("started", "kind", "for", "status", "customers", "issued", "skipped"):
        table.add_column(column, justify="right" if column in {"customers", "issued"} else "left")
    table.add_column("by")
    table.add_column("run id", no_wrap=True)
    for run in items:
        table.add_row(
            _instant(run["started_at"]),
            run["kind"],
            _subject(RunKind(run["kind"]), run).removeprefix("for "),
            _status(run["status"]),
            str(run["customers"]),
            str(run["documents_issued"]),
            str(run["customers_skipped"]),
            escape(run.get("requested_by") or "scheduler"),
            run["run_id"],
        )
    out.print(table)
    if page.get("next_cursor"):
        out.print(f"[dim]… older runs not shown (--limit {limit})[/]")


def _run(
    kind: RunKind,
    date: dt.date,
    *,
    billing_url: str,
    identity_url: str,
    client_id: str,
    secret: str,
    as_json: bool,
) -> None:
    # One request does the whole run (billing commits customer by customer): a spinner, since
    # the API does not report progress while it works.
    with (
        operator_session(identity_url, client_id, secret) as operator,
        out.status(f"{_WHAT[kind]} for {date.isoformat()} in billing…"),
    ):
        run = operator.post(
            "billing", billing_url, "/billing-runs", {"kind": kind.value, "date": str(date)}
        )
    if as_json:
        typer.echo(json.dumps(run, ensure_ascii=False))
        return
    out.print(f"[green]✓[/] {_WHAT[kind]} {_subject(kind, run)}: {_status(run['status'])}")
    out.print(f"  run        {run['run_id']}")
    out.print(f"  customers  {run['customers']}")
    what = "invoices marked overdue" if kind is RunKind.dunning else "documents"
    out.print(f"  issued     {run['documents_issued']} {what}")
    out.print(f"  skipped    {run['customers_skipped']}")
    for skipped in run.get("skipped") or []:
        out.print(f"    {skipped['customer_id']}  [yellow]{escape(skipped['reason'])}[/]")


def _period(run: dict[str, Any]) -> str:
    """The run's month, both ends included (the API's ``period_ends_on`` is exclusive)."""
    starts = dt.date.fromisoformat(run["period_starts_on"])
    last = dt.date.fromisoformat(run["period_ends_on"]) - dt.timedelta(days=1)
    return f"{starts} – {max(last, starts)}"


def _subject(kind: RunKind, run: dict[str, Any]) -> str:
    """What a run was for: a day (renewals, dunning) or a month (close, settlements)."""
    if kind in (RunKind.renewals, RunKind.dunning):
        return f"for {run['run_on']}"
    return f"for {_period(run)}"


def _status(status: str) -> str:
    colour = {"completed": "green", "failed": "red"}.get(status, "yellow")
    return f"[{colour}]{escape(status)}[/]"


def _instant(text: str) -> str:
    """An API instant in the operator's own time zone, to the minute."""
    return dt.datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M")
