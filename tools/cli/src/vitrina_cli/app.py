"""``vitrina``: the developer's command line.

- ``vitrina dev`` starts the whole marketplace on this machine and keeps it running;
- ``vitrina seed`` loads the demo catalog into a running marketplace;
- ``vitrina test`` runs the project's whole check (lint, format, types, contracts, tests);
- ``vitrina billing``, ``dead-letters``, ``outbox``, ``lag``, ``status`` and ``time`` are the
  operator's commands against a running marketplace (``vitrina_cli.operator`` has what they
  share).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vitrina_cli.billing import app as billing_app
from vitrina_cli.checks import Check, elapsed_since, project_checks, run_checks
from vitrina_cli.identity import (
    DEFAULT_OPERATOR_CLIENT_ID,
    DEFAULT_OPERATOR_CLIENT_SECRET,
    ClientIdOption,
    ClientSecretOption,
)
from vitrina_cli.identity import app as identity_app
from vitrina_cli.lag import lag
from vitrina_cli.ops import dead_letters_app, outbox, time_app
from vitrina_cli.status import status
from vitrina_cli.supervisor import Child, ChildFailed
from vitrina_cli.workspace import repo_root

if TYPE_CHECKING:
    from vitrina_cli.demo_integrations import StartSimulators
    from vitrina_cli.simulators import SimulatorUrls
    from vitrina_cli.stack import Stack

app = typer.Typer(
    name="vitrina",
    help="Run the Vitrina marketplace locally (vitrina dev) and check the project (vitrina test).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",  # docstrings wrap to the terminal, not to the source's lines
)
app.add_typer(identity_app, name="identity")
# The operator's commands (billing runs, dead letters, the outbox, consumer lag, the services'
# status from their metrics, the calendar).
app.add_typer(billing_app, name="billing")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(time_app, name="time")
app.command("outbox")(outbox)
app.command("lag")(lag)
app.command("status")(status)
# soft_wrap: long lines (URLs, paths) stay whole when the output goes to a file or a pipe.
console = Console(highlight=False, soft_wrap=True)

READY_MESSAGE = "Vitrina is ready"
"""Printed once everything answers; tools waiting for the stack look for it."""


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Shutdown(BaseException):
    """Ctrl-C or SIGTERM arrived."""


class _Signals:
    """The first SIGINT or SIGTERM interrupts whatever runs (starting, seeding, watching) with
    :class:`_Shutdown`; once stopping has begun, another one only sets ``hurry``, so a second
    Ctrl-C shortens the stop instead of breaking it."""

    def __init__(self) -> None:
        self.hurry = threading.Event()
        self.stopping = False
        self._previous = {signum: signal.getsignal(signum) for signum in _STOP_SIGNALS}

    def __enter__(self) -> _Signals:
        for signum in _STOP_SIGNALS:
            signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping:
            self.hurry.set()
            return
        self.stopping = True
        raise _Shutdown(signal.Signals(signum).name)


@app.command()
def dev(
    base_port: Annotated[
        int, typer.Option(help="HTTP port of identity; the other services take the next four.")
    ] = 8001,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not create the demo catalog.")] = (
        False
    ),
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where PostgreSQL's data, the logs and seed.json go [default: .vitrina]"),
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Empty every service's database first (demo data included)."),
    ] = False,
    no_simulators: Annotated[
        bool,
        typer.Option(
            "--no-simulators",
            help="Do not start the EDO, 1C and partner simulators (nor connect them).",
        ),
    ] = False,
    demo_clock: Annotated[
        bool,
        typer.Option(
            "--demo-clock",
            help="Run the services and simulators on a clock of their own, moved forward with "
            "`vitrina time set` / `forward` (to reach a month-end in a demo).",
        ),
    ] = False,
) -> None:
    """Start the whole marketplace locally and keep it running until Ctrl-C.

    Starts the broker, PostgreSQL and every service, seeds a demo catalog, and starts the
    simulators of the EDO operator, 1C and a partner's provisioning endpoint on the three
    ports after the services' (connected by the seed: the operator's EDO and 1C connectors,
    the demo partner's provisioning endpoint). A simulator is not started when the operator
    has connected a real system of its kind. Uses an embedded Kafka-compatible broker unless
    KAFKA_BOOTSTRAP_SERVERS is set, and an embedded PostgreSQL (data kept in
    DATA_DIR/postgres) unless VITRINA_DATABASE_URL names a server (each service gets its
    own database `vitrina_<service>` there).

    With --demo-clock every service and simulator reads its wall clock from DATA_DIR/demo-clock:
    the real time at first, kept across restarts (--fresh resets it), moved forward by
    `vitrina time set 2026-11-30T12:00` or `vitrina time forward 3d` (`vitrina time show`).
    """
    started = time.monotonic()
    # Imported here: the stack brings SQLAlchemy, Alembic and Kafka clients, which every other
    # command (and --help) would otherwise wait for.
    from vitrina_cli import seed
    from vitrina_cli.stack import Stack, StackConfig, StackError

    root = repo_root()
    config = StackConfig.from_env(
        root,
        data_dir or root / ".vitrina",
        base_port=base_port,
        fresh=fresh,
        simulators=not no_simulators,
        demo_clock=demo_clock,
    )
    stack = Stack(config, report=_step)
    console.print(f"[bold]Vitrina[/] — starting the marketplace from {root}")

    exit_code = 0
    with _Signals() as signals:
        try:
            stack.start()
            if not no_seed:
                _seed(stack)
            elif stack.simulator_choices:
                with _step("Starting the simulators"):
                    stack.start_simulators()
            _show(stack, started)
            died = stack.supervisor.watch()
            _report_death(died, "exited unexpectedly")
            exit_code = 1
        except _Shutdown:
            console.print("\nStopping…")
        except ChildFailed as failure:
            _report_death(failure.child, failure.what)
            exit_code = 1
        except (StackError, seed.SeedError) as error:
            console.print(f"[red]✗ {escape(str(error))}[/]")
            exit_code = 1
        finally:
            signals.stopping = True
            _stop(stack, hurry=signals.hurry)
    if exit_code:
        raise typer.Exit(exit_code)
    console.print("Stopped.")


@app.command("seed")
def seed_command(
    identity_url: Annotated[
        str, typer.Option(envvar="VITRINA_IDENTITY_URL", help="Identity's base URL.")
    ] = "http://127.0.0.1:8001",
    catalog_url: Annotated[
        str, typer.Option(envvar="VITRINA_CATALOG_URL", help="The catalog's base URL.")
    ] = "http://127.0.0.1:8002",
    orders_url: Annotated[
        str | None,
        typer.Option(
            envvar="VITRINA_ORDERS_URL",
            help="Orders' base URL: wait until orders has every product [default: no wait].",
        ),
    ] = None,
    operator_client_id: ClientIdOption = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecretOption = DEFAULT_OPERATOR_CLIENT_SECRET,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where seed.json is read and written [default: .vitrina]"),
    ] = None,
    integrations_url: Annotated[
        str | None,
        typer.Option(
            envvar="VITRINA_INTEGRATIONS_URL",
            help="Integrations' base URL: connect the simulators below [default: none].",
        ),
    ] = None,
    edo_simulator_url: Annotated[
        str | None,
        typer.Option(
            envvar="VITRINA_EDO_SIMULATOR_URL",
            help="Register the operator's EDO connector to this EDO operator simulator.",
        ),
    ] = None,
    onec_simulator_url: Annotated[
        str | None,
        typer.Option(
            envvar="VITRINA_ONEC_SIMULATOR_URL",
            help="Register the operator's 1C connector to this 1C simulator.",
        ),
    ] = None,
    partner_simulator_url: Annotated[
        str | None,
        typer.Option(
            envvar="VITRINA_PARTNER_SIMULATOR_URL",
            help="Register the demo partner's provisioning endpoint at this partner simulator.",
        ),
    ] = None,
) -> None:
    """Load the demo catalog into a running marketplace (`vitrina dev` does it by itself).

    Registers the demo partners in identity, gives each an API client, creates their products
    and the operator's own as their owners and has the operator approve them all. Given
    --integrations-url and simulators' URLs, also registers the operator's EDO and 1C
    connectors and the demo partner's provisioning endpoint against them (a connector the
    operator registered itself for a kind is left alone). Safe to run again: nothing is
    created twice. The partners' client credentials are kept in DATA_DIR/seed.json.
    """
    import httpx

    from vitrina_cli import seed
    from vitrina_cli.simulators import SimulatorUrls

    def clean(url: str | None) -> str | None:
        return url.rstrip("/") if url else None

    seed_file = (data_dir or repo_root() / ".vitrina") / "seed.json"
    try:
        _load_demo_catalog(
            seed_file,
            identity_url=identity_url.rstrip("/"),
            catalog_url=catalog_url.rstrip("/"),
            orders_url=clean(orders_url),
            operator_client_id=operator_client_id,
            operator_client_secret=operator_client_secret,
            integrations_url=clean(integrations_url),
            simulators=SimulatorUrls(
                edo_operator=clean(edo_simulator_url),
                onec=clean(onec_simulator_url),
                partner=clean(partner_simulator_url),
            ),
        )
    except httpx.HTTPError as error:
        console.print(f"[red]✗ a service cannot be reached: {escape(str(error))}[/]")
        raise typer.Exit(1) from error
    except seed.SeedError as error:
        console.print(f"[red]✗ {escape(str(error))}[/]")
        raise typer.Exit(1) from error


@app.command("test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def check(
    pytest_args: Annotated[
        list[str] | None,
        typer.Argument(help="Passed to pytest instead of its default (the whole suite)."),
    ] = None,
) -> None:
    """Run the project's whole check, as CI does.

    ruff check, ruff format --check, mypy over every package, vitrina-contracts check, then
    pytest; stops at the first step that fails.
    """
    started = time.monotonic()
    root = repo_root()
    try:
        checks = project_checks(root, pytest_args or [])
    except FileNotFoundError as error:
        console.print(f"[red]✗ {escape(str(error))}[/]")
        raise typer.Exit(1) from error

    def announce(check: Check) -> None:
        console.print(f"\n[bold cyan]▶ {escape(check.command_line)}[/]")

    failed = run_checks(checks, root=root, announce=announce)
    if failed is not None:
        console.print(f"\n[red bold]✗ {escape(failed.message)}[/] after {elapsed_since(started)}")
        raise typer.Exit(failed.returncode or 1)
    names = ", ".join(check.name for check in checks)
    console.print(f"\n[green bold]✓ all checks passed[/] ({names}) in {elapsed_since(started)}")


def main() -> None:
    app()


# -- vitrina dev, step by step ------------------------------------------------------------


@contextlib.contextmanager
def _step(title: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        with console.status(title):
            yield
    except BaseException:
        console.print(f"[red]✗[/] {title}")
        raise
    console.print(f"[green]✓[/] {title} [dim]({time.monotonic() - started:.1f} s)[/]")


def _seed(stack: Stack) -> None:
    import httpx

    from vitrina_cli import seed
    from vitrina_cli.simulators import SimulatorUrls

    def start_simulators(names: set[str]) -> None:
        # Within the seed's own step (one status line at a time): say it when done.
        started = time.monotonic()
        stack.start_simulators(names)
        console.print(
            f"  simulators started: {', '.join(sorted(names))} "
            f"[dim]({time.monotonic() - started:.1f} s)[/]"
        )

    seed_file = stack.config.data_dir / "seed.json"
    if stack.config.fresh:
        seed_file.unlink(missing_ok=True)
    try:
        _load_demo_catalog(
            seed_file,
            identity_url=stack.identity_url,
            catalog_url=stack.service("catalog").url,
            orders_url=stack.service("orders").url,
            operator_client_id=seed.DEV_OPERATOR_CLIENT_ID,
            operator_client_secret=seed.DEV_OPERATOR_CLIENT_SECRET,
            integrations_url=stack.service("integrations").url,
            simulators=SimulatorUrls.of(stack.simulator_choices),
            start_simulators=start_simulators,
        )
    except httpx.HTTPError as error:
        stack.supervisor.check()  # a service that died explains more than the HTTP error
        raise seed.SeedError(f"the demo catalog could not be seeded: {error}") from error


def _load_demo_catalog(
    seed_file: Path,
    *,
    identity_url: str,
    catalog_url: str,
    orders_url: str | None,
    operator_client_id: str,
    operator_client_secret: str,
    integrations_url: str | None = None,
    simulators: SimulatorUrls | None = None,
    start_simulators: StartSimulators | None = None,
) -> None:
    """Seed, save ``seed_file`` and say what was made (``vitrina dev`` and ``vitrina seed``).

    With ``integrations_url`` and ``simulators``, the demo connectors and the demo partner's
    provisioning endpoint too; ``start_simulators`` starts those something will talk to.
    """
    import dataclasses

    import httpx

    from vitrina_cli import demo_integrations, seed

    operator = seed.ClientCredentials(operator_client_id, operator_client_secret)
    previous = seed.saved_integrations(seed_file)
    with _step("Seeding the demo catalog"), httpx.Client(timeout=10.0) as client:
        result = seed.seed_demo_catalog(
            client,
            identity_url=identity_url,
            catalog_url=catalog_url,
            orders_url=orders_url,
            operator=operator,
            saved=seed.saved_credentials(seed_file),
        )
    # Kept when this run connects nothing: the endpoint's signing secret cannot be read again.
    result = dataclasses.replace(result, integrations=previous)
    if integrations_url and simulators:
        partner = next(
            (p for p in result.partners if p.key == demo_integrations.PROVISIONING_PARTNER), None
        )
        with _step("Connecting the simulators"), httpx.Client(timeout=10.0) as client:
            wired = demo_integrations.seed_integrations(
                client,
                identity_url=identity_url,
                integrations_url=integrations_url,
                simulators=simulators,
                partner=partner,
                operator=operator,
                saved=previous,
                start_simulators=start_simulators,
            )
        result = dataclasses.replace(result, integrations=dataclasses.asdict(wired))
    seed_file.parent.mkdir(parents=True, exist_ok=True)
    result.save(seed_file)
    new_partners = sum(partner.created for partner in result.partners)
    partners = ", ".join(partner.name for partner in result.partners)
    console.print(f"  {len(result.partners)} partners ({new_partners} new): {escape(partners)}")
    new_products = sum(product.created for product in result.products)
    console.print(
        f"  {len(result.products)} products ({new_products} new), "
        f"ids and the partners' API clients in {seed_file}"
    )
    if result.integrations is not None and integrations_url and simulators:
        _show_integrations(result.integrations)
    if result.not_in_orders:
        console.print(
            "[yellow]  ! orders has not received "
            + ", ".join(result.not_in_orders)
            + " — events in flight when the embedded broker last stopped are lost; "
            "`vitrina dev --fresh` starts over with empty databases.[/]"
        )


def _show_integrations(wired: dict[str, Any]) -> None:
    """What the seed connected (``demo_integrations.IntegrationsSeeded``, as saved)."""
    for connector in wired["connectors"]:
        console.print(
            f"  connector {connector['kind']}: {escape(connector['name'])} ({connector['outcome']})"
        )
    provisioning = wired.get("provisioning")
    if provisioning is not None:
        console.print(
            f"  provisioning endpoint of {escape(provisioning['partner_name'])}: "
            f"{provisioning['url'] or '—'} ({provisioning['outcome']})"
        )
        if provisioning.get("note"):
            console.print(f"[yellow]  ! {escape(provisioning['note'])}[/]")


def _show_simulators(stack: Stack) -> None:
    """Where a person acts in the demo: the buyer signs in the EDO simulator, the invoice and
    the sale show in 1C, the partner's provisioning calls are listed (lines, not a table: the
    URLs are long and must stay whole)."""
    from vitrina_cli.simulators import (
        EDO_BUYER_CLIENT,
        ONEC_BASE,
        ONEC_USER,
    )

    shown = {
        "edo-operator": (
            "EDO operator",
            "",
            f"the buyer's client {EDO_BUYER_CLIENT[0]} / {EDO_BUYER_CLIENT[1]}",
        ),
        "onec": (
            "1C",
            f"/{ONEC_BASE}/odata/standard.odata",
            f"user {ONEC_USER[0]} / {ONEC_USER[1]}",
        ),
        "partner": ("partner", "/simulator/calls", "the provisioning calls it received"),
    }
    for simulator in stack.simulators:
        title, path, hint = shown[simulator.name]
        console.print(f"{title + ' simulator':<23} {simulator.url}{path}  [dim]({hint})[/]")
    if stack.simulators:
        console.print()


def _show(stack: Stack, started: float) -> None:
    from vitrina_cli.seed import DEV_OPERATOR_CLIENT_ID, DEV_OPERATOR_CLIENT_SECRET

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("service")
    table.add_column("API")
    table.add_column("docs")
    for endpoint in stack.services:
        table.add_row(endpoint.name, endpoint.url, endpoint.docs_url)
    console.print()
    console.print(table)
    console.print()
    _show_simulators(stack)
    if stack.broker_embedded:
        broker = "embedded Tansu, memory only: it starts empty every time"
    else:
        broker = "from KAFKA_BOOTSTRAP_SERVERS"
    console.print(f"broker      {stack.bootstrap_servers}  [dim]({broker})[/]")
    if stack.postgres_embedded:
        database = "embedded, one database per service, kept across restarts"
    else:
        database = "from VITRINA_DATABASE_URL, one database vitrina_<service> per service"
    console.print(f"PostgreSQL  {escape(stack.database_location)}  [dim]({database})[/]")
    console.print(f"logs        {stack.config.logs_dir}/<service>.log")
    _show_clock(stack)
    console.print(f"demo data   {stack.config.data_dir / 'seed.json'}")
    console.print(
        f"operator    client {DEV_OPERATOR_CLIENT_ID} / {DEV_OPERATOR_CLIENT_SECRET}  [dim](get "
        f"a token: POST {stack.identity_url}/oauth/token, grant_type=client_credentials)[/]"
    )
    kept = [e.name for e in stack.services if e.name not in stack.created_databases]
    if stack.broker_embedded and kept:
        console.print(
            "[yellow]note[/]: the databases are kept but the embedded broker is not — committed "
            "data is all here, events that were still in flight at the last stop are not. "
            "Use --fresh to start from empty databases."
        )
    console.print(
        f"\n[green bold]{READY_MESSAGE}[/] in {time.monotonic() - started:.1f} s — "
        "press Ctrl-C to stop everything."
    )


def _show_clock(stack: Stack) -> None:
    clock = stack.config.clock
    if clock is None:
        return
    from vitrina_cli.demo_clock import describe_offset

    now = clock.now()
    if stack.clock_kept:
        since = f"kept from the last run, {describe_offset(clock.offset())}"
    else:
        since = "from the real time"
    console.print(
        f"[yellow]clock[/]       {now.astimezone():%Y-%m-%d %H:%M %z}  [dim](demo clock, {since}; "
        "`vitrina time set <when>` or `vitrina time forward 3d` moves it)[/]"
    )


def _report_death(child: Child, what: str) -> None:
    status = f"exit status {child.returncode}"
    console.print(
        f"\n[red bold]✗ {child.name} {escape(what)} ({status})[/] — last lines of {child.log_path}:"
    )
    for line in child.tail(30):
        console.print(f"[dim]\\[{child.name}][/] {escape(line)}")
    console.print("Stopping everything.")


def _stop(stack: Stack, *, hurry: threading.Event) -> None:
    embedded = [
        name
        for name, is_ours in (
            ("broker", stack.broker_embedded),
            ("PostgreSQL", stack.postgres_embedded),
        )
        if is_ours
    ]
    with _step("Stopping " + ", ".join(["services", *embedded])):
        stack.stop(hurry=hurry)
