"""What every operator command shares: where the services are, the operator's token, calls that
fail with one readable line, and the consoles.

The defaults are the local stack's (``vitrina dev``: identity on 8001 and the others on the next
ports, the dev operator client); production passes its own URLs and credentials through the
environment (``VITRINA_<SERVICE>_URL``, ``VITRINA_OPERATOR_CLIENT_ID``/``_SECRET``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn, TypeVar

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vitrina_cli.identity import (
    DEFAULT_OPERATOR_CLIENT_ID,
    DEFAULT_OPERATOR_CLIENT_SECRET,
    basic_credentials,
)
from vitrina_cli.workspace import SERVICES

__all__ = [
    "DEFAULT_OPERATOR_CLIENT_ID",
    "DEFAULT_OPERATOR_CLIENT_SECRET",
    "Operator",
    "OperatorError",
    "ServiceSelection",
    "default_url",
    "err",
    "fail",
    "out",
]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")

_TIMEOUT = httpx.Timeout(10.0, read=120.0)
"""A billing run or a DLQ read may take a while; connecting must not."""


def default_url(service: str) -> str:
    """Where ``vitrina dev`` (default ``--base-port``) serves ``service``."""
    return f"http://127.0.0.1:{8001 + SERVICES.index(service)}"


IDENTITY_URL = default_url("identity")
CATALOG_URL = default_url("catalog")
ORDERS_URL = default_url("orders")
BILLING_URL = default_url("billing")
INTEGRATIONS_URL = default_url("integrations")


def _url_option(service: str) -> Any:
    return typer.Option(
        f"--{service}-url",
        envvar=f"VITRINA_{service.upper()}_URL",
        help=f"{service.capitalize()}'s base URL.",
        rich_help_panel="Where the services are",
    )


IdentityUrl = Annotated[str, _url_option("identity")]
CatalogUrl = Annotated[str, _url_option("catalog")]
OrdersUrl = Annotated[str, _url_option("orders")]
BillingUrl = Annotated[str, _url_option("billing")]
IntegrationsUrl = Annotated[str, _url_option("integrations")]
ClientId = Annotated[
    str,
    typer.Option(
        "--operator-client-id",
        envvar="VITRINA_OPERATOR_CLIENT_ID",
        help="The operator client the command acts as.",
        rich_help_panel="Who acts",
    ),
]
ClientSecret = Annotated[
    str,
    typer.Option(
        "--operator-client-secret",
        envvar="VITRINA_OPERATOR_CLIENT_SECRET",
        help="Its secret (better from the environment than on the command line).",
        show_default=False,
        rich_help_panel="Who acts",
    ),
]
ServiceFilter = Annotated[
    list[str] | None,
    typer.Option(
        "--service",
        "-s",
        help=f"Only this service ({', '.join(SERVICES)}); repeat for several [default: all].",
        show_default=False,
    ),
]
JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print the answer as JSON (for scripts), nothing else.")
]


class OperatorError(Exception):
    """A service cannot be reached or refused; the message is one line that says which and why."""


def fail(message: str) -> NoReturn:
    """Print ``message`` as the one line of a failed command and exit with status 1."""
    err.print(f"[red]✗ {escape(message)}[/]")
    raise typer.Exit(1)


@dataclass(frozen=True)
class ServiceSelection:
    """The services a command talks to, with their base URLs, in the stack's order."""

    urls: Mapping[str, str]

    @classmethod
    def of(cls, urls: Mapping[str, str], only: Iterable[str] | None) -> ServiceSelection:
        chosen = list(dict.fromkeys(only or ()))
        unknown = [name for name in chosen if name not in SERVICES]
        if unknown:
            fail(f"no service named {', '.join(unknown)} (the services: {', '.join(SERVICES)})")
        names = [name for name in SERVICES if not chosen or name in chosen]
        return cls({name: urls[name].rstrip("/") for name in names})

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.urls.items())


class Operator:
    """HTTP calls to the services as the operator: one token from identity, reused."""

    def __init__(
        self, http: httpx.Client, *, identity_url: str, client_id: str, secret: str
    ) -> None:
        self._http = http
        self._identity_url = identity_url.rstrip("/")
        self._client_id = client_id
        self._secret = secret
        self._token: str | None = None

    def authorize(self) -> str:
        """The ``Authorization`` header value (a token is fetched the first time)."""
        if self._token is None:
            response = self._send(
                "identity",
                "POST",
                f"{self._identity_url}/oauth/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic_credentials(self._client_id, self._secret)},
            )
            if response.status_code != 200:
                raise OperatorError(
                    f"identity refused the operator client {self._client_id}: {reason(response)}"
                )
            self._token = str(response.json()["access_token"])
        return f"Bearer {self._token}"

    def get(self, service: str, url: str, path: str, **params: str | int) -> Any:
        return self._call(service, "GET", url, path, params=params)

    def post(
        self, service: str, url: str, path: str, body: object = None, **params: str | int
    ) -> Any:
        # Every POST that creates something takes an Idempotency-Key: a new one per command,
        # so a retried request (httpx does not retry by itself) is still answered once.
        return self._call(
            service,
            "POST",
            url,
            path,
            params=params,
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )

    def _call(
        self,
        service: str,
        method: str,
        url: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> Any:
        authorization = self.authorize()
        response = self._send(
            service,
            method,
            url.rstrip("/") + path,
            headers={"Authorization": authorization, **(headers or {})},
            **options,
        )
        if not response.is_success:
            raise OperatorError(f"{service} refused {method} {path}: {reason(response)}")
        return response.json()

    def _send(self, service: str, method: str, url: str, **options: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, **options)
        except httpx.TransportError as error:
            # The exception's own text is often empty (a bare ConnectError): say what it is.
            what = str(error) or type(error).__name__
            origin = str(httpx.URL(url).copy_with(path="/", query=None)).rstrip("/")
            raise OperatorError(f"{service} at {origin} cannot be reached: {what}") from error


@contextmanager
def operator_session(identity_url: str, client_id: str, secret: str) -> Iterator[Operator]:
    """An :class:`Operator` for one command; any :class:`OperatorError` ends the command with
    its one line and status 1."""
    try:
        with httpx.Client(timeout=_TIMEOUT) as http:
            operator = Operator(http, identity_url=identity_url, client_id=client_id, secret=secret)
            # The token first: without it nothing works, and it is one line, not one per service.
            operator.authorize()
            yield operator
    except OperatorError as error:
        fail(str(error))


def reason(response: httpx.Response) -> str:
    """What the API said, on one line: problem+json, an OAuth error, or the status."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    if "error" in body:
        return f"{body['error']} {body.get('error_description') or ''}".strip()
    text = f"{body.get('title') or 'HTTP ' + str(response.status_code)}"
    if body.get("detail"):
        text += f": {body['detail']}"
    invalid = [f"{p.get('name')}: {p.get('reason')}" for p in body.get("invalid-params") or []]
    if invalid:
        text += " (" + "; ".join(invalid) + ")"
    return f"{text} [HTTP {response.status_code}]"


def progress() -> Progress:
    """A progress bar on stderr (so ``--json`` output stays clean); gone once done."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        # Not on a pipe or in a log: a bar that cannot redraw leaves only blank lines there.
        disable=not err.is_terminal,
    )


def each_service(
    services: ServiceSelection, call: Callable[[str, str], T]
) -> tuple[dict[str, T], list[str]]:
    """``call(service, url)`` for every selected service; a service that fails does not stop the
    others. Returns the answers and one error line per service that failed."""
    answers: dict[str, T] = {}
    errors: list[str] = []
    for service, url in services:
        try:
            answers[service] = call(service, url)
        except OperatorError as error:
            errors.append(str(error))
    return answers, errors
