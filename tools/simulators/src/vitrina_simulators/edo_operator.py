"""An EDO operator (Kontur.Diadoc-like) standing in for the real one: a real HTTP server.

Run it: ``python -m vitrina_simulators.edo_operator --port 8090 --client ID:SECRET:BOX ...``, or
in a test: ``with running(SimulatorConfig(...)) as url: ...``.

The operator's API, as the integrations connector uses it:

- ``POST /oauth/token`` — OAuth 2.0 token endpoint (client_credentials, authorization_code,
  refresh_token; client authentication by HTTP Basic or in the form). Refresh tokens rotate.
- ``GET /oauth/authorize`` — the authorization page; the simulated user consents at once and it
  redirects to ``redirect_uri`` with ``code`` and ``state``.
- ``POST /V3/PostMessage?operationId=…`` — a message from the caller's box (``FromBoxId``) to
  ``ToBoxId`` with ``DocumentAttachments`` (``FileName``, ``SignedContent.Content`` base64). The
  UPD is validated against the FNS XSD 5.03 and its file name against ``@ИдФайл`` (400 with the
  errors otherwise). A repeated ``operationId`` returns the first message, never a second one.
- ``GET /V7/GetNewEvents?boxId=…&afterIndexKey=…`` — the box's docflow events after a cursor,
  100 a page: ``DocumentSent``/``DocumentReceived``, ``DocumentDelivered`` (a background task,
  after ``delivery_delay_seconds``), ``RecipientSigned``, ``RecipientSignatureRejected``
  (``Comment`` is the buyer's reason).
- ``POST /V3/PostMessagePatch`` — the buyer (authenticated as the recipient box) signs
  (``RecipientTitles``) or rejects (``RequestedSignatureRejections`` with ``ErrorMessage``) a
  delivered document.

Errors are plain-text bodies with the status (400 invalid, 401 token, 403 not your box, 404
unknown, 409 wrong state), as Diadoc answers them.

Test controls, not part of any operator's API, under ``/simulator``: inject faults (``POST
/simulator/faults``: the next N calls of a path answer a status, or answer only after a delay
*after* doing the work — a lost answer), revoke tokens, read counters and the messages held.

What it does not model: electronic signatures (no CMS signature is required or checked, the
buyer's title is not a real second-title XML), the buyer's receipt notices (ИОП) and the
operator's confirmations (ПДП/ПДО), document types other than the UPD СЧФДОП, box ids distinct
from FNS participant ids (here a box id *is* the participant id), departments, drafts, the
document shelf for large files, roaming between operators, revocation and amendment requests,
the protobuf wire format (JSON only), and persistence (state lives in memory and is lost on
restart).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

import uvicorn
import xmlschema
from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

SCHEMA_NAME = "ON_NSCHFDOPPR_1_997_01_05_03_05.xsd"
EVENTS_PAGE_SIZE = 100
_FILE_ID = re.compile(
    r"^ON_NSCHFDOPPR_(?P<receiver>[^_]+)_(?P<sender>[^_]+)_\d{8}_[0-9a-fA-F-]{36}$"
)


def default_schema_path() -> Path:
    """The FNS XSD the integrations package ships, found through its package data (no import
    of the service's code: only its resource files are read)."""
    resource = files("integrations.edo") / "schemas" / SCHEMA_NAME
    return Path(str(resource))


@dataclass(frozen=True)
class Client:
    """An API client of the operator, acting for one box (an organization's mailbox)."""

    client_id: str
    client_secret: str
    box_id: str


@dataclass
class SimulatorConfig:
    clients: list[Client]
    delivery_delay_seconds: float = 0.5
    access_token_lifetime_seconds: float = 3600
    refresh_token_lifetime_seconds: float = 30 * 24 * 3600
    schema_path: Path | None = None


@dataclass
class _Grant:
    client: Client
    expires_at: float


@dataclass
class _Message:
    message_id: str
    entity_id: str
    from_box: str
    to_box: str
    file_name: str
    content: bytes
    custom_document_id: str | None
    status: str = "Sent"  # Sent → Delivered → Signed | Rejected
    rejection_reason: str | None = None


@dataclass
class _Fault:
    path: str
    times: int
    status: int | None = None
    delay_seconds: float = 0.0


@dataclass
class _State:
    config: SimulatorConfig
    access: dict[str, _Grant] = field(default_factory=dict)
    refresh: dict[str, _Grant] = field(default_factory=dict)
    codes: dict[str, tuple[_Grant, str]] = field(default_factory=dict)
    messages: dict[str, _Message] = field(default_factory=dict)
    operations: dict[tuple[str, str], str] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[_Fault] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @cached_property
    def schema(self) -> xmlschema.XMLSchema:
        path = self.config.schema_path or default_schema_path()
        with path.open("rb") as source:
            return xmlschema.XMLSchema(source)

    def client(self, client_id: str | None) -> Client | None:
        return next((c for c in self.config.clients if c.client_id == client_id), None)

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def add_event(self, box_id: str, message: _Message, event_type: str, **extra: Any) -> None:
        feed = self.events.setdefault(box_id, [])
        feed.append(
            {
                "EventId": str(uuid.uuid4()),
                # Opaque to clients; sortable here: the position in the box's feed.
                "IndexKey": f"{len(feed) + 1:012d}",
                "MessageId": message.message_id,
                "EntityId": message.entity_id,
                "EventType": event_type,
                "Timestamp": datetime.now(UTC).isoformat(),
                **extra,
            }
        )


class FaultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="e.g. /V3/PostMessage")
    times: int = Field(default=1, ge=1, le=1000)
    status: int | None = Field(default=None, ge=400, le=599)
    delay_seconds: float = Field(default=0, ge=0, le=120)


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    access_tokens: bool = True
    refresh_tokens: bool = False


def _text(status: int, message: str, **headers: str) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=status, headers=headers or None)


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def create_app(config: SimulatorConfig) -> FastAPI:
    state = _State(config)
    app = FastAPI(title="EDO operator simulator (Diadoc-like)")
    app.state.simulator = state

    @app.middleware("http")
    async def faults(request: Request, call_next: Any) -> Response:
        fault = next((f for f in state.faults if f.path == request.url.path), None)
        if fault is None:
            response: Response = await call_next(request)
            return response
        fault.times -= 1
        if fault.times <= 0:
            state.faults.remove(fault)
        state.count(f"fault {request.url.path}")
        if fault.status is not None:
            return _text(fault.status, "Simulated operator failure")
        # The work is done, the answer comes late: the client times out and must not resend
        # it as a new document.
        response = await call_next(request)
        await asyncio.sleep(fault.delay_seconds)
        return response

    def authenticated(authorization: str | None) -> Client | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        grant = state.access.get(authorization.removeprefix("Bearer ").strip())
        if grant is None or grant.expires_at <= time.time():
            return None
        return grant.client

    def unauthorized() -> PlainTextResponse:
        return _text(
            401,
            "Invalid or expired access token",
            **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    def issue(client: Client, grant_type: str) -> JSONResponse:
        state.count(f"token {grant_type}")
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        now = time.time()
        state.access[access] = _Grant(client, now + config.access_token_lifetime_seconds)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": config.access_token_lifetime_seconds,
        }
        if grant_type != "client_credentials":
            state.refresh[refresh] = _Grant(client, now + config.refresh_token_lifetime_seconds)
            body["refresh_token"] = refresh
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @app.post("/oauth/token")
    async def token(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        # application/x-www-form-urlencoded, read by hand: no multipart dependency for a form
        # of plain fields.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant_type = form.get("grant_type", "")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        code, redirect_uri = form.get("code"), form.get("redirect_uri")
        refresh_token = form.get("refresh_token")
        if authorization and authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except (binascii.Error, UnicodeDecodeError):
                return _oauth_error(401, "invalid_client", "malformed Basic credentials")
            client_id, _, client_secret = decoded.partition(":")
        client = state.client(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, client_secret or ""):
            return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
        if grant_type == "client_credentials":
            return issue(client, grant_type)
        if grant_type == "authorization_code":
            held = state.codes.pop(code or "", None)
            if held is None or held[0].client != client or held[0].expires_at <= time.time():
                return _oauth_error(400, "invalid_grant", "unknown, used or expired code")
            if held[1] != redirect_uri:
                return _oauth_error(400, "invalid_grant", "redirect_uri differs")
            return issue(client, grant_type)
        if grant_type == "refresh_token":
            grant = state.refresh.pop(refresh_token or "", None)  # rotated: used once
            if grant is None or grant.client != client or grant.expires_at <= time.time():
                return _oauth_error(400, "invalid_grant", "unknown, used or expired refresh token")
            return issue(client, grant_type)
        return _oauth_error(400, "unsupported_grant_type", grant_type)

    @app.get("/oauth/authorize")
    async def authorize(
        response_type: str,
        client_id: str,
        redirect_uri: str,
        state_: Annotated[str, Query(alias="state")] = "",
    ) -> Response:
        client = state.client(client_id)
        if client is None or response_type != "code":
            return _text(400, "unknown client or unsupported response_type")
        code = secrets.token_urlsafe(16)
        state.codes[code] = (_Grant(client, time.time() + 600), redirect_uri)
        return RedirectResponse(
            f"{redirect_uri}?{urlencode({'code': code, 'state': state_})}", status_code=302
        )

    @app.post("/V3/PostMessage")
    async def post_message(
        request: Request,
        operation_id: Annotated[str | None, Query(alias="operationId", max_length=200)] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        client = authenticated(authorization)
        if client is None:
            return unauthorized()
        state.count("PostMessage calls")
        body = await request.json()
        if body.get("FromBoxId") != client.box_id:
            return _text(403, f"Access to box {body.get('FromBoxId')} is denied")
        known_boxes = {c.box_id for c in config.clients}
        to_box = body.get("ToBoxId")
        if to_box not in known_boxes:
            return _text(404, f"Box {to_box} not found")
        if operation_id and (client.box_id, operation_id) in state.operations:
            return JSONResponse(
                _message_json(state.messages[state.operations[(client.box_id, operation_id)]])
            )
        attachments = body.get("DocumentAttachments") or []
        if len(attachments) != 1:
            return _text(400, "Exactly one document attachment is supported")
        attachment = attachments[0]
        problems = _check_upd(state, attachment, from_box=client.box_id, to_box=to_box)
        if isinstance(problems, str):
            return _text(400, problems)
        file_name, content = problems
        message = _Message(
            message_id=str(uuid.uuid4()),
            entity_id=str(uuid.uuid4()),
            from_box=client.box_id,
            to_box=to_box,
            file_name=file_name,
            content=content,
            custom_document_id=attachment.get("CustomDocumentId"),
        )
        state.messages[message.message_id] = message
        if operation_id:
            state.operations[(client.box_id, operation_id)] = message.message_id
        state.count("messages accepted")
        state.add_event(message.from_box, message, "DocumentSent")
        state.add_event(message.to_box, message, "DocumentReceived")
        task = asyncio.create_task(_deliver_later(state, message))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)
        return JSONResponse(_message_json(message))

    @app.get("/V7/GetNewEvents")
    async def get_new_events(
        box_id: Annotated[str, Query(alias="boxId")],
        after_index_key: Annotated[str | None, Query(alias="afterIndexKey")] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        client = authenticated(authorization)
        if client is None:
            return unauthorized()
        if box_id != client.box_id:
            return _text(403, f"Access to box {box_id} is denied")
        feed = state.events.get(box_id, [])
        start = 0
        if after_index_key:
            start = next(
                (i + 1 for i, e in enumerate(feed) if e["IndexKey"] == after_index_key), -1
            )
            if start < 0:
                return _text(400, f"Unknown afterIndexKey {after_index_key}")
        page = feed[start : start + EVENTS_PAGE_SIZE]
        return JSONResponse({"Events": page, "TotalCount": len(feed) - start})

    @app.post("/V3/PostMessagePatch")
    async def post_message_patch(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        client = authenticated(authorization)
        if client is None:
            return unauthorized()
        body = await request.json()
        message = state.messages.get(str(body.get("MessageId")))
        if body.get("BoxId") != client.box_id:
            return _text(403, f"Access to box {body.get('BoxId')} is denied")
        if message is None or message.to_box != client.box_id:
            return _text(404, f"Message {body.get('MessageId')} not found")
        if message.status != "Delivered":
            return _text(409, f"The document is {message.status}, not awaiting the recipient")
        rejections = body.get("RequestedSignatureRejections") or []
        if rejections:
            reason = str(rejections[0].get("ErrorMessage") or "").strip()
            if not reason:
                return _text(400, "A rejection needs ErrorMessage")
            message.status, message.rejection_reason = "Rejected", reason
            state.add_event(message.from_box, message, "RecipientSignatureRejected", Comment=reason)
        elif body.get("RecipientTitles"):
            message.status = "Signed"
            state.add_event(message.from_box, message, "RecipientSigned")
        else:
            return _text(400, "Nothing to patch: RecipientTitles or RequestedSignatureRejections")
        return JSONResponse({"MessageId": message.message_id, "PatchId": str(uuid.uuid4())})

    @app.post("/simulator/faults", status_code=204)
    async def add_fault(fault: FaultRequest) -> Response:
        state.faults.append(_Fault(fault.path, fault.times, fault.status, fault.delay_seconds))
        return Response(status_code=204)

    @app.post("/simulator/revoke", status_code=204)
    async def revoke(body: RevokeRequest) -> Response:
        if body.access_tokens:
            state.access.clear()
        if body.refresh_tokens:
            state.refresh.clear()
        return Response(status_code=204)

    @app.get("/simulator/stats")
    async def stats() -> dict[str, int]:
        return dict(state.counters)

    @app.get("/simulator/messages")
    async def messages() -> list[dict[str, Any]]:
        return [
            _message_json(m) | {"Status": m.status, "RejectionReason": m.rejection_reason}
            for m in state.messages.values()
        ]

    @app.get("/simulator/messages/{message_id}/content")
    async def message_content(message_id: str) -> Response:
        message = state.messages.get(message_id)
        if message is None:
            return _text(404, "no such message")
        return Response(message.content, media_type="application/xml")

    return app


def _check_upd(
    state: _State, attachment: dict[str, Any], *, from_box: str, to_box: str
) -> tuple[str, bytes] | str:
    """The file name and content of a valid UPD, or what is wrong with it."""
    if (
        attachment.get("TypeNamedId") != "UniversalTransferDocument"
        or attachment.get("Function") != "СЧФДОП"
    ):
        return "Only TypeNamedId UniversalTransferDocument with Function СЧФДОП is supported"
    file_name = str(attachment.get("FileName") or "")
    try:
        content = base64.b64decode(attachment["SignedContent"]["Content"], validate=True)
    except (KeyError, TypeError, binascii.Error):
        return "SignedContent.Content must be base64"
    try:
        root = etree.fromstring(
            content, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError as error:
        return f"The document is not well-formed XML: {error}"
    errors = [f"{e.path}: {e.reason}" for e in state.schema.iter_errors(content)]
    file_id = root.get("ИдФайл") or ""
    if file_name != f"{file_id}.xml":
        errors.append(f"file name {file_name!r} does not match ИдФайл {file_id!r}")
    match = _FILE_ID.match(file_id)
    if match is None:
        errors.append(f"ИдФайл {file_id!r} is not ON_NSCHFDOPPR_<receiver>_<sender>_<date>_<guid>")
    elif (match["receiver"], match["sender"]) != (to_box, from_box):
        errors.append("ИдФайл names other participants than ToBoxId and FromBoxId")
    if errors:
        return "The document fails validation: " + "; ".join(errors[:20])
    return file_name, content


async def _deliver_later(state: _State, message: _Message) -> None:
    await asyncio.sleep(state.config.delivery_delay_seconds)
    message.status = "Delivered"
    state.add_event(message.from_box, message, "DocumentDelivered")


def _message_json(message: _Message) -> dict[str, Any]:
    return {
        "MessageId": message.message_id,
        "FromBoxId": message.from_box,
        "ToBoxId": message.to_box,
        "Entities": [
            {
                "EntityId": message.entity_id,
                "FileName": message.file_name,
                "CustomDocumentId": message.custom_document_id,
            }
        ],
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running(config: SimulatorConfig, *, port: int | None = None) -> Iterator[str]:
    """Serve the simulator on 127.0.0.1 in a background thread; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name=f"edo-operator-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the EDO operator simulator did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _client_arg(text: str) -> Client:
    client_id, secret, box_id = text.split(":", 2)
    return Client(client_id=client_id, client_secret=secret, box_id=box_id)


# The local stack's operator and its demo customer (the contracts' АО «Витрина» and ООО «Ромашка»).
DEFAULT_CLIENTS = [
    "vitrina-operator:dev-operator-secret:2BM-7704123450-770401001-000000000000001",
    "romashka:dev-romashka-secret:2BM-5012345672-501201001-000000000000042",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vitrina_simulators.edo_operator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument(
        "--client",
        action="append",
        type=_client_arg,
        metavar="ID:SECRET:BOX",
        help="an API client and its box (repeatable); default: the local stack's two",
    )
    parser.add_argument("--delivery-delay", type=float, default=2.0)
    parser.add_argument("--token-lifetime", type=float, default=3600)
    parser.add_argument("--schema", type=Path, help="the FNS XSD (default: integrations' copy)")
    args = parser.parse_args(argv)
    config = SimulatorConfig(
        clients=args.client or [_client_arg(text) for text in DEFAULT_CLIENTS],
        delivery_delay_seconds=args.delivery_delay,
        access_token_lifetime_seconds=args.token_lifetime,
        schema_path=args.schema,
    )
    uvicorn.run(create_app(config), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
