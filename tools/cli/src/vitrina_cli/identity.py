"""``vitrina identity``: register organizations and create API clients in a running identity
service, as the operator (a token from the bootstrap operator client's credentials).

    vitrina identity register-org --kind business --name "ООО «Ромашка»" --inn 5012345672 \\
        --kpp 501201001 --ogrn 1215000123458 --address "143900, г. Балашиха, ул. Советская, д. 3"
    vitrina identity create-client --org <organization id> --scope orders:read --scope orders:write
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Annotated, Any, NoReturn
from urllib.parse import quote_plus

import httpx
import typer
from rich.console import Console
from rich.markup import escape

DEFAULT_URL = "http://127.0.0.1:8001"
# The local stack's defaults (identity's IDENTITY_BOOTSTRAP_OPERATOR_CLIENT_*): production sets
# its own and passes them here through the environment.
DEFAULT_OPERATOR_CLIENT_ID = "vitrina-operator"
DEFAULT_OPERATOR_CLIENT_SECRET = "dev-operator-secret"  # noqa: S105 - the documented dev default

app = typer.Typer(
    name="identity",
    help="Register organizations and create API clients in a running identity service.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

UrlOption = Annotated[
    str, typer.Option("--url", envvar="VITRINA_IDENTITY_URL", help="Identity's base URL.")
]
ClientIdOption = Annotated[
    str,
    typer.Option(
        "--operator-client-id",
        envvar="VITRINA_OPERATOR_CLIENT_ID",
        help="The operator client the command acts as.",
    ),
]
ClientSecretOption = Annotated[
    str,
    typer.Option(
        "--operator-client-secret",
        envvar="VITRINA_OPERATOR_CLIENT_SECRET",
        help="Its secret (better from the environment than on the command line).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the API's answer as JSON, nothing else.")
]


class IdentityError(Exception):
    """The identity service refused, or could not be reached."""


class IdentityApi:
    """The few calls the commands make, as the operator."""

    def __init__(self, http: httpx.Client, *, client_id: str, client_secret: str) -> None:
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None

    def _operator_token(self) -> str:
        if self._token is None:
            response = self._http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic_credentials(self._client_id, self._client_secret)},
            )
            if response.status_code != 200:
                raise IdentityError(f"no operator token for {self._client_id}: {_reason(response)}")
            self._token = str(response.json()["access_token"])
        return self._token

    def post(self, path: str, body: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        response = self._http.post(
            path,
            json=body,
            headers={
                "Authorization": f"Bearer {self._operator_token()}",
                "Idempotency-Key": idempotency_key,
            },
        )
        if response.status_code not in (200, 201):
            raise IdentityError(_reason(response))
        answer: dict[str, Any] = response.json()
        return answer


def basic_credentials(client_id: str, secret: str) -> str:
    """HTTP Basic client authentication as RFC 6749 §2.3.1 wants it: each part form-encoded
    before joining (httpx's ``auth=`` does not)."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _reason(response: httpx.Response) -> str:
    """What the API said, in one line or a few: problem+json or an OAuth error."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    if "error" in body:
        return f"{body['error']}: {body.get('error_description', '')}"
    lines = [f"{body.get('title', 'HTTP ' + str(response.status_code))}: {body.get('detail', '')}"]
    lines += [f"  {p['name']}: {p['reason']}" for p in body.get("invalid-params", [])]
    return "\n".join(lines)


def _run(url: str, client_id: str, client_secret: str, call: Any) -> dict[str, Any]:
    try:
        with httpx.Client(base_url=url, timeout=10.0) as http:
            result: dict[str, Any] = call(
                IdentityApi(http, client_id=client_id, client_secret=client_secret)
            )
            return result
    except httpx.HTTPError as error:
        _fail(f"identity at {url} cannot be reached: {error}")
    except IdentityError as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    err.print(f"[red]✗ {escape(message)}[/]")
    raise typer.Exit(1)


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if value is not None}


@app.command("register-org")
def register_org(
    kind: Annotated[str, typer.Option(help="partner, business or operator.", case_sensitive=False)],
    name: Annotated[str, typer.Option(help="Full legal name, as on documents.")],
    inn: Annotated[str, typer.Option(help="INN: 10 digits (company) or 12 (entrepreneur).")],
    address: Annotated[str, typer.Option(help="Legal address, one line.")],
    kpp: Annotated[str | None, typer.Option(help="KPP; a company's, not an entrepreneur's.")] = (
        None
    ),
    ogrn: Annotated[str | None, typer.Option(help="OGRN (13 digits) or OGRNIP (15).")] = None,
    short_name: Annotated[str | None, typer.Option(help="Short name, e.g. ООО «Ромашка».")] = (
        None
    ),
    email: Annotated[str | None, typer.Option(help="Contact e-mail.")] = None,
    phone: Annotated[str | None, typer.Option(help="Contact phone, E.164.")] = None,
    edo_id: Annotated[str | None, typer.Option(help="EDO participant id.")] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="Repeat a registration safely by giving the same key [default: new]."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    operator_client_id: ClientIdOption = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecretOption = DEFAULT_OPERATOR_CLIENT_SECRET,
    as_json: JsonOption = False,
) -> None:
    """Register an organization as the operator: it is active at once."""
    body = _drop_none(
        {
            "kind": kind.lower(),
            "legal_name": name,
            "short_name": short_name,
            "inn": inn,
            "kpp": kpp,
            "ogrn": ogrn,
            "legal_address": address,
            "contact_email": email,
            "contact_phone": phone,
            "edo_participant_id": edo_id,
        }
    )
    organization = _run(
        url,
        operator_client_id,
        operator_client_secret,
        lambda api: api.post(
            "/organizations", body, idempotency_key=idempotency_key or str(uuid.uuid4())
        ),
    )
    if as_json:
        typer.echo(json.dumps(organization, ensure_ascii=False))
        return
    out.print(f"[green]✓[/] {escape(organization['legal_name'])} registered")
    out.print(f"  id      {organization['id']}")
    out.print(f"  kind    {organization['kind']}, {organization['status']}")
    requisites = [f"INN {organization['inn']}"]
    requisites += [f"KPP {organization['kpp']}"] if organization.get("kpp") else []
    requisites += [f"OGRN {organization['ogrn']}"] if organization.get("ogrn") else []
    out.print("  " + ", ".join(requisites))


@app.command("create-client")
def create_client(
    org: Annotated[uuid.UUID, typer.Option(help="The organization's id.")],
    scope: Annotated[
        list[str],
        typer.Option(help="A scope the client may hold; repeat for several (e.g. orders:read)."),
    ],
    name: Annotated[str, typer.Option(help="What the client is for.")] = "Created with vitrina",
    url: UrlOption = DEFAULT_URL,
    operator_client_id: ClientIdOption = DEFAULT_OPERATOR_CLIENT_ID,
    operator_client_secret: ClientSecretOption = DEFAULT_OPERATOR_CLIENT_SECRET,
    as_json: JsonOption = False,
) -> None:
    """Create an API client of an organization and print its secret — the only time it is
    shown."""
    scopes = [part for value in scope for part in value.replace(",", " ").split()]
    made = _run(
        url,
        operator_client_id,
        operator_client_secret,
        lambda api: api.post(
            f"/organizations/{org}/clients",
            {"name": name, "scopes": scopes},
            idempotency_key=str(uuid.uuid4()),
        ),
    )
    if as_json:
        typer.echo(json.dumps(made, ensure_ascii=False))
        return
    out.print(f"[green]✓[/] API client of {made['organization_id']}")
    typer.echo(f"  client_id      {made['client_id']}")
    typer.echo(f"  client_secret  {made['client_secret']}")
    typer.echo(f"  scopes         {' '.join(made['scopes'])}")
    err.print("[yellow]The secret is shown only now: keep it somewhere safe.[/]")
