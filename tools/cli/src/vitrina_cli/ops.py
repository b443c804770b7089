"""The operator's views of every service: the outbox backlog, dead letters (listed and
replayed), and moving the calendar for a demo: orders' subscriptions on any stack, or the whole
local stack's clock when it runs with ``vitrina dev --demo-clock``.

    vitrina outbox
    vitrina dead-letters list [--service billing]
    vitrina dead-letters replay --service billing identity.organizations/2/0 [--yes]
    vitrina dead-letters replay --service billing --all
    vitrina time advance --to 2026-03-01T00:00+03:00
    vitrina time set 2026-11-30T12:00 | forward 3d | show

A dead letter is named ``<original topic>/<partition>/<offset>``: the topic it failed on, and
its place in ``<topic>.dlq``, as the listing shows it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vitrina_cli.operator import (
    BILLING_URL,
    CATALOG_URL,
    DEFAULT_OPERATOR_CLIENT_ID,
    DEFAULT_OPERATOR_CLIENT_SECRET,
    IDENTITY_URL,
    INTEGRATIONS_URL,
    ORDERS_URL,
    BillingUrl,
    CatalogUrl,
    ClientId,
    ClientSecret,
    IdentityUrl,
    IntegrationsUrl,
    JsonOutput,
    Operator,
    OperatorError,
    OrdersUrl,
    ServiceFilter,
    ServiceSelection,
    each_service,
    err,
    fail,
    operator_session,
    out,
    progress,
)
from vitrina_cli.workspace import repo_root

if TYPE_CHECKING:
    from collections.abc import Callable

    from vitrina_cli.demo_clock import StackClock
    from vitrina_kit.local.clock import DemoClock

dead_letters_app = typer.Typer(
    name="dead-letters",
    help="List the events services gave up on, and replay them once the cause is fixed.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
time_app = typer.Typer(
    name="time",
    help="Move the marketplace's calendar forward, for demos and tests: the local stack's demo "
    "clock (`vitrina dev --demo-clock`; set, forward, show), or orders' subscriptions (advance).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

_REPLAY_BATCH = 500
"""The most positions one replay request takes (the API's limit)."""


def consumed_topics(service: str) -> list[str]:
    """The topics ``service`` reads, as the contracts' registry says: where its dead letters are."""
    from vitrina_contracts.registry import TOPICS  # here: it costs every `vitrina` command 0.2 s

    return [topic.name for topic in TOPICS if service in topic.consumers]


# -- vitrina outbox -------------------------------------------------------------------------


def outbox(
    service: ServiceFilter = None,
    identity_url: IdentityUrl = IDENTITY_URL,
    catalog_url: CatalogUrl = CATALOG_URL,
    orders_url: OrdersUrl = ORDERS_URL,
    billing_url: BillingUrl = BILLING_URL,
    integrations_url: IntegrationsUrl = INTEGRATIONS_URL,
    operator_client_id: ClientId = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecret = DEFAULT_OPERATOR_CLIENT_SECRET,
    as_json: JsonOutput = False,
) -> None:
    """Every service's outbox backlog: events committed but not yet published (pending), the
    ones the relay gave up on (parked), and how long the oldest pending one has waited."""
    services = ServiceSelection.of(
        _urls(identity_url, catalog_url, orders_url, billing_url, integrations_url), service
    )
    with operator_session(identity_url, operator_client_id, operator_client_secret) as operator:
        backlogs, errors = each_service(
            services, lambda name, url: operator.get(name, url, "/ops/outbox")
        )
    if as_json:
        typer.echo(json.dumps(backlogs))
    else:
        table = Table(header_style="bold", box=None, pad_edge=False)
        table.add_column("service")
        table.add_column("pending", justify="right")
        table.add_column("parked", justify="right")
        table.add_column("oldest pending", justify="right")
        for name, _url in services:
            backlog = backlogs.get(name)
            if backlog is None:
                table.add_row(name, "[red]unreachable[/]", "", "")
                continue
            parked = backlog["parked"]
            table.add_row(
                name,
                str(backlog["pending"]),
                f"[red]{parked}[/]" if parked else "0",
                _age(backlog["oldest_pending_age_seconds"]),
            )
        out.print(table)
    _exit_on(errors)


# -- vitrina dead-letters -------------------------------------------------------------------


@dataclass(frozen=True)
class LetterId:
    """``<topic>/<partition>/<offset>``: the original topic and the place in its DLQ."""

    topic: str
    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> LetterId:
        topic, _, rest = text.rpartition("/")
        topic, _, partition = topic.rpartition("/")
        try:
            return cls(topic, int(partition), int(rest))
        except ValueError:
            raise typer.BadParameter(
                f"{text!r} is not <topic>/<partition>/<offset> (as the listing shows)"
            ) from None

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


@dead_letters_app.command("list")
def list_dead_letters(
    service: ServiceFilter = None,
    topic: Annotated[
        str | None, typer.Option(help="Only the dead letters of this (original) topic.")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=500, help="At most this many per service and topic.")
    ] = 100,
    identity_url: IdentityUrl = IDENTITY_URL,
    catalog_url: CatalogUrl = CATALOG_URL,
    orders_url: OrdersUrl = ORDERS_URL,
    billing_url: BillingUrl = BILLING_URL,
    integrations_url: IntegrationsUrl = INTEGRATIONS_URL,
    operator_client_id: ClientId = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecret = DEFAULT_OPERATOR_CLIENT_SECRET,
    as_json: JsonOutput = False,
) -> None:
    """The dead letters of every service (each service's own: its consumer group's), oldest
    first, with the error and whether they were replayed."""
    services = ServiceSelection.of(
        _urls(identity_url, catalog_url, orders_url, billing_url, integrations_url), service
    )
    with operator_session(identity_url, operator_client_id, operator_client_secret) as operator:
        letters, incomplete, errors = _collect(operator, services, topic=topic, limit=limit)
    if as_json:
        typer.echo(json.dumps(letters, ensure_ascii=False))
        _exit_on(errors)
        return
    if not letters:
        out.print("No dead letters." if not errors else "No dead letters in the others.")
    else:
        table = Table(header_style="bold", box=None, pad_edge=False)
        for column in ("service", "id", "event type", "error", "attempts", "failed", "replayed"):
            table.add_column(column, no_wrap=column == "id")
        for letter in letters:
            error = letter["error"]
            if letter["error_type"] not in error:  # the error often names its type already
                error = f"{letter['error_type']}: {error}".strip(": ")
            table.add_row(
                letter["service"],
                letter["id"],
                escape(letter["event_type"] or "(unreadable)"),
                escape(_shorten(error, 80)),
                str(letter["attempts"]),
                _instant(letter["failed_at"]),
                _instant(letter["replayed_at"]) if letter["replayed_at"] else "[yellow]no[/]",
            )
        out.print(table)
    for where in incomplete:
        out.print(f"[yellow]! more dead letters in {where} than shown (--limit {limit})[/]")
    _exit_on(errors)


def _collect(
    operator: Operator, services: ServiceSelection, *, topic: str | None, limit: int
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Every service's dead letters, each with ``service`` and ``id``; the places where there
    were more than ``limit``; and one error line per service that failed."""
    wanted = [
        (name, url, t)
        for name, url in services
        for t in consumed_topics(name)
        if topic is None or t == topic
    ]
    letters: list[dict[str, Any]] = []
    incomplete: list[str] = []
    errors: dict[str, str] = {}
    # Each request reads a DLQ topic from its beginning: a bar, since there are a dozen of them.
    with progress() as bar:
        task = bar.add_task("Reading dead letters", total=len(wanted))
        for name, url, t in wanted:
            bar.update(task, description=f"Reading dead letters: {name}, {t}")
            if name not in errors:  # a service that cannot be reached is not asked again
                try:
                    page = operator.get(name, url, "/ops/dead-letters", topic=t, limit=limit)
                except OperatorError as error:
                    errors[name] = str(error)
                else:
                    for item in page["items"]:
                        letter_id = LetterId(t, item["partition"], item["offset"])
                        letters.append({"service": name, "id": str(letter_id), **item})
                    if not page["complete"]:
                        incomplete.append(f"{name}/{t}")
            bar.advance(task)
    return letters, incomplete, list(errors.values())


@dead_letters_app.command("replay")
def replay_dead_letters(
    service: Annotated[str, typer.Option("--service", "-s", help="Whose dead letters.")],
    ids: Annotated[
        list[str] | None,
        typer.Argument(help="Dead letters as the listing names them: <topic>/<partition>/<offset>"),
    ] = None,
    replay_all: Annotated[
        bool, typer.Option("--all", help="Every dead letter of the service not replayed yet.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    identity_url: IdentityUrl = IDENTITY_URL,
    catalog_url: CatalogUrl = CATALOG_URL,
    orders_url: OrdersUrl = ORDERS_URL,
    billing_url: BillingUrl = BILLING_URL,
    integrations_url: IntegrationsUrl = INTEGRATIONS_URL,
    operator_client_id: ClientId = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecret = DEFAULT_OPERATOR_CLIENT_SECRET,
) -> None:
    """Republish dead letters to their original topic, so the service tries them again. Each
    dead letter is replayed at most once; the services that applied it before ignore it."""
    if bool(ids) == replay_all:
        fail("name the dead letters to replay, or give --all (not both)")
    services = ServiceSelection.of(
        _urls(identity_url, catalog_url, orders_url, billing_url, integrations_url), [service]
    )
    url = services.urls[service]
    with operator_session(identity_url, operator_client_id, operator_client_secret) as operator:
        if replay_all:
            # Replay what the operator was shown and agreed to, not whatever is there by the time
            # the request arrives: list first, then replay those positions.
            letters, _, errors = _collect(operator, services, topic=None, limit=500)
            _exit_on(errors)
            chosen = [LetterId.parse(d["id"]) for d in letters if not d["replayed_at"]]
            if not chosen:
                out.print(f"No dead letters of {service} to replay.")
                return
        else:
            chosen = list(dict.fromkeys(LetterId.parse(text) for text in ids or ()))
        unknown = sorted({c.topic for c in chosen} - set(consumed_topics(service)))
        if unknown:
            fail(f"{service} does not read {', '.join(unknown)}: no dead letters of its there")
        if not yes:
            typer.confirm(
                f"Replay {len(chosen)} dead letter(s) of {service} to their topics?", abort=True
            )
        outcome = _replay(operator, service, url, chosen)
    for letter in outcome["replayed"]:
        out.print(f"[green]✓[/] replayed {letter}")
    for letter in outcome["already_replayed"]:
        out.print(f"[yellow]![/] {letter} was replayed before: not again")
    summary = (
        f"{len(outcome['replayed'])} replayed, {len(outcome['already_replayed'])} replayed before"
    )
    if outcome["not_found"]:
        names = ", ".join(str(letter) for letter in outcome["not_found"])
        fail(f"{summary}; no dead letter of {service} at {names}")
    out.print(summary)


def _replay(
    operator: Operator, service: str, url: str, chosen: list[LetterId]
) -> dict[str, list[LetterId]]:
    by_topic: dict[str, list[LetterId]] = defaultdict(list)
    for letter in chosen:
        by_topic[letter.topic].append(letter)
    outcome: dict[str, list[LetterId]] = {"replayed": [], "already_replayed": [], "not_found": []}
    with progress() as bar:
        task = bar.add_task(f"Replaying dead letters of {service}", total=len(chosen))
        for topic, letters in by_topic.items():
            for start in range(0, len(letters), _REPLAY_BATCH):
                batch = letters[start : start + _REPLAY_BATCH]
                positions = [{"partition": d.partition, "offset": d.offset} for d in batch]
                answer = operator.post(
                    service, url, "/ops/dead-letters/replay", {"topic": topic, "offsets": positions}
                )
                for outcome_name in outcome:
                    outcome[outcome_name] += [
                        LetterId(topic, item["partition"], item["offset"])
                        for item in answer[outcome_name]
                    ]
                bar.advance(task, len(batch))
    return outcome


# -- vitrina time advance -------------------------------------------------------------------


@time_app.command("advance")
def advance(
    to: Annotated[
        str,
        typer.Option(
            help="ISO date or date and time, e.g. 2026-03-01 or 2026-03-01T09:00+03:00 "
            "(without a zone: this machine's)."
        ),
    ],
    orders_url: OrdersUrl = ORDERS_URL,
    identity_url: IdentityUrl = IDENTITY_URL,
    operator_client_id: ClientId = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecret = DEFAULT_OPERATOR_CLIENT_SECRET,
) -> None:
    """Apply in orders what is due by `--to`: scheduled cancellations and changes, trial ends,
    grace periods run out. A time in the future moves the subscriptions' calendar forward
    (for demos); billing runs are separate (`vitrina billing run`). Only orders moves: on a
    stack started with `vitrina dev --demo-clock`, `vitrina time set` / `forward` move every
    service's clock, and do this too."""
    from vitrina_cli.demo_clock import parse_instant

    try:
        moment = parse_instant(to)  # without a zone: the operator's own, as they would mean it
    except ValueError:
        fail(f"--to {to!r} is not an ISO date or date and time (e.g. 2026-03-01T09:00+03:00)")
    with operator_session(identity_url, operator_client_id, operator_client_secret) as operator:
        advance_orders(operator, orders_url, moment)


def advance_orders(operator: Operator, orders_url: str, moment: dt.datetime) -> None:
    """Have orders apply what is due by ``moment``, and say what it did."""
    applied = operator.post(
        "orders", orders_url, "/ops/subscriptions/advance", to=moment.isoformat()
    )
    out.print(
        f"[green]✓[/] orders advanced to {applied['to']}: {applied['advanced']} subscription(s) "
        f"changed, {applied['dunned']} overdue invoice(s) acted on"
    )


# -- vitrina time set / forward / show: the local stack's demo clock ------------------------

DataDir = Annotated[
    Path | None,
    typer.Option(help="The data directory of the `vitrina dev` to move [default: .vitrina]"),
]


@time_app.command("set")
def set_clock(
    when: Annotated[
        str,
        typer.Argument(
            help="ISO date or date and time, e.g. 2026-11-30T12:00 (without a zone: this "
            "machine's; a date alone: its midnight)."
        ),
    ],
    data_dir: DataDir = None,
    operator_client_id: ClientId = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecret = DEFAULT_OPERATOR_CLIENT_SECRET,
) -> None:
    """Move the local stack's clock (`vitrina dev --demo-clock`) forward to WHEN: every service
    and simulator lives at that time from now on, and orders applies what came due by then."""
    from vitrina_cli.demo_clock import parse_instant

    try:
        moment = parse_instant(when)
    except ValueError:
        fail(f"{when!r} is not an ISO date or date and time (e.g. 2026-11-30T12:00)")
    _move_clock(data_dir, lambda now: moment, operator_client_id, operator_client_secret)


@time_app.command("forward")
def forward_clock(
    duration: Annotated[
        str, typer.Argument(help="How far: 3d, 12h, 1d12h, 2w, 90m (weeks, days, hours, …).")
    ],
    data_dir: DataDir = None,
    operator_client_id: ClientId = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecret = DEFAULT_OPERATOR_CLIENT_SECRET,
) -> None:
    """Move the local stack's clock (`vitrina dev --demo-clock`) forward by DURATION, as
    `vitrina time set` does."""
    from vitrina_cli.demo_clock import parse_duration

    try:
        delta = parse_duration(duration)
    except ValueError as error:
        fail(str(error))
    _move_clock(data_dir, lambda now: now + delta, operator_client_id, operator_client_secret)


@time_app.command("show")
def show_clock(data_dir: DataDir = None) -> None:
    """The local stack's time (`vitrina dev --demo-clock`), and how far it is from the real
    one."""
    from vitrina_cli.demo_clock import describe_offset

    clock = _stack_clock(data_dir).clock
    now = _read(clock)
    out.print(
        f"{now.astimezone():%Y-%m-%d %H:%M:%S %z}  "
        f"[dim](the stack's demo clock, {describe_offset(now - dt.datetime.now(dt.UTC))})[/]"
    )


def _move_clock(
    data_dir: Path | None,
    target: Callable[[dt.datetime], dt.datetime],
    operator_client_id: str,
    operator_client_secret: str,
) -> None:
    from vitrina_cli.demo_clock import describe_offset, wait_until_followed

    stack = _stack_clock(data_dir)
    clock = stack.clock
    now = _read(clock)
    moment = target(now)
    if moment <= now:
        fail(
            f"the stack's clock is at {now.astimezone():%Y-%m-%d %H:%M:%S %z} already and moves "
            "only forward: the services date what they make by it (to start over: "
            "`vitrina dev --demo-clock --fresh`, which empties the databases)"
        )
    clock.set(moment)
    lagging = wait_until_followed(clock, stack.followers)
    if lagging:
        for name, why in list(lagging.items())[:-1]:
            err.print(f"[red]✗ {escape(name)} {escape(why)}[/]")
        name, why = list(lagging.items())[-1]
        fail(f"{name} {why}: is it still running? (see its log)")
    out.print(
        f"[green]✓[/] the stack's clock is at {moment.astimezone():%Y-%m-%d %H:%M:%S %z} "
        f"[dim]({describe_offset(moment - dt.datetime.now(dt.UTC))}; "
        f"{len(stack.followers)} processes follow it)[/]"
    )
    with operator_session(
        stack.identity_url, operator_client_id, operator_client_secret
    ) as operator:
        advance_orders(operator, stack.orders_url, moment)
    out.print(
        "[dim]Tokens issued before the move have expired by the stack's clock: get new ones.[/]"
    )


def _stack_clock(data_dir: Path | None) -> StackClock:
    from vitrina_cli.demo_clock import NoDemoClock, running_clock

    try:
        return running_clock(data_dir or repo_root() / ".vitrina")
    except NoDemoClock as error:
        fail(str(error))


def _read(clock: DemoClock) -> dt.datetime:
    try:
        return clock.now()
    except (OSError, ValueError) as error:
        fail(f"cannot read the stack's clock {clock.path}: {error}")


# -- helpers --------------------------------------------------------------------------------


def _urls(
    identity: str, catalog: str, orders: str, billing: str, integrations: str
) -> dict[str, str]:
    return {
        "identity": identity,
        "catalog": catalog,
        "orders": orders,
        "billing": billing,
        "integrations": integrations,
    }


def _exit_on(errors: list[str]) -> None:
    """After what could be shown: one line per service that failed, and status 1."""
    if errors:
        for line in errors[:-1]:
            err.print(f"[red]✗ {escape(line)}[/]")
        fail(errors[-1])


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} d"


def _instant(text: str | None) -> str:
    if not text:
        return "—"
    return dt.datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _shorten(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
