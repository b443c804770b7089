"""1C:Enterprise's standard OData interface (a 1C:Бухгалтерия base), standing in for the real one.

Run it: ``python -m vitrina_simulators.onec --port 8091 --base accounting --user odata:secret``,
or in a test: ``with running(OneCConfig(...)) as url: ...`` (``url`` is the server; the OData root
is ``{url}/{base}/odata/standard.odata``, see :func:`odata_root`).

What it answers, in 1C's URL forms (OData 3.0, the way the platform publishes it):

- ``GET  /<base>/odata/standard.odata/`` — the service document (the entity sets);
- ``GET  …/<Set>?$format=json&$filter=…&$select=…&$top=…&$skip=…&$orderby=…&$expand=…`` —
  ``{"odata.metadata": "…/$metadata#<Set>", "value": [...]}``. ``$filter``: ``eq ne gt ge lt
  le`` on one property and a literal (``'text'`` with ``''`` for a quote, ``guid'…'``,
  ``datetime'YYYY-MM-DDTHH:MM:SS'``, numbers, ``true``/``false``), joined by ``and``/``or``,
  parenthesised. ``$expand`` of a reference (``Контрагент`` for ``Контрагент_Key``) inlines
  the referenced entity;
- ``GET  …/<Set>(guid'<Ref_Key>')`` — one entity (``…/$metadata#<Set>/@Element``);
- ``POST …/<Set>`` — creates it: 201 with the entity, its new ``Ref_Key``, ``DataVersion``,
  ``Code`` (catalogs) or ``Number`` (documents) when not given;
- ``PATCH …/<Set>(guid'…')`` — changes the properties given; a tabular part given replaces the
  whole part (as 1C does: rows are not addressable on their own);
- ``POST …/<Document>(guid'…')/Post()`` (``?PostingModeOperational=false``) and ``/Unpost()``.

Entity sets: ``Catalog_Контрагенты``, ``Catalog_БанковскиеСчета``,
``Document_СчетНаОплатуПокупателю`` (tabular part ``Товары``), ``Document_РеализацияТоваровУслуг``
(``Услуги``), ``Document_ПоступлениеНаРасчетныйСчет``. A property the set does not have is
refused (400), as 1C refuses it; ``Posted`` is changed only by ``Post()``/``Unpost()``.

Authentication is HTTP Basic against the configured users (401 with ``WWW-Authenticate: Basic``
otherwise). Errors are 1C's JSON: ``{"odata.error": {"code": "…", "message": {"lang": "ru",
"value": "…"}}}``; codes ``-1`` (an internal error, HTTP 500) and ``13`` are the ones public
transcripts of real bases show, the others here are this simulator's own — a client should go by
the HTTP status and show the message.

Test controls, not part of 1C, under ``/simulator``: ``POST /simulator/faults`` (the next N OData
requests, optionally only of one method and set, answer a status or are delayed, either before
the work or *after* it — a lost answer), ``GET /simulator/stats`` (requests by outcome),
``POST /simulator/reset``.

What it does not model: the XML (Atom) format and ``$metadata`` (JSON only: a request without
``$format=json`` gets it anyway), ``$inlinecount``, functions in ``$filter`` (``substringof``…),
``not``, arithmetic, ``any``/``all``; ``If-Match``/``DataVersion`` concurrency checks; access rights
per user (every user may do everything); the configuration's business logic — posting checks
nothing (a real 1C refuses a sale without ``Номенклатура``, ``Договор`` or a filled
``Организация``) and makes no register movements; automatic numbering per organization prefix
and year; referential integrity (a ``_Key`` to nothing is stored, as 1C stores a broken link);
deletion (``DeletionMark`` is a plain property, ``DELETE`` is refused); other entity sets,
registers, virtual tables and exchange plans; persistence (memory only, lost on restart).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import copy
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

EMPTY_REF = "00000000-0000-0000-0000-000000000000"
STANDARD_ODATA = "odata/standard.odata"

# -- the entity sets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntitySet:
    """One catalog or document as its OData entity set shows it."""

    name: str
    # Property name → the default a new entity gets.
    properties: Mapping[str, Any]
    # Reference properties (``X_Key``) → the entity set they point to, for ``$expand``.
    references: Mapping[str, str] = field(default_factory=dict)
    # Tabular part name → its row properties and defaults (``LineNumber`` is implied).
    tabular_parts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def is_document(self) -> bool:
        return self.name.startswith("Document_")


_SERVICE_ROW: Mapping[str, Any] = {
    "Номенклатура_Key": EMPTY_REF,
    "Содержание": "",
    "Количество": 0,
    "Цена": 0,
    "Сумма": 0,
    "СтавкаНДС": "",
    "СуммаНДС": 0,
}
_CATALOG: Mapping[str, Any] = {
    "DataVersion": "",
    "DeletionMark": False,
    "Code": "",
    "Description": "",
}
_DOCUMENT: Mapping[str, Any] = {
    "DataVersion": "",
    "DeletionMark": False,
    "Number": "",
    "Date": None,
    "Posted": False,
    "Организация_Key": EMPTY_REF,
    "Комментарий": "",
}
_DOCUMENT_REFERENCES = {"Организация_Key": "Catalog_Организации"}

ENTITY_SETS: Mapping[str, EntitySet] = {
    entity.name: entity
    for entity in (
        EntitySet(
            "Catalog_Контрагенты",
            {
                **_CATALOG,
                "Parent_Key": EMPTY_REF,
                "IsFolder": False,
                "НаименованиеПолное": "",
                "ИНН": "",
                "КПП": "",
                "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо",
                "Комментарий": "",
            },
        ),
        EntitySet(
            "Catalog_БанковскиеСчета",
            {**_CATALOG, "Owner": EMPTY_REF, "Owner_Type": "", "НомерСчета": "", "Банк_Key": ""},
        ),
        EntitySet(
            "Document_СчетНаОплатуПокупателю",
            {
                **_DOCUMENT,
                "Контрагент_Key": EMPTY_REF,
                "ДоговорКонтрагента_Key": EMPTY_REF,
                "СчетОрганизации_Key": EMPTY_REF,
                "СуммаДокумента": 0,
                "СуммаВключаетНДС": False,
                "СрокОплаты": None,
            },
            references={**_DOCUMENT_REFERENCES, "Контрагент_Key": "Catalog_Контрагенты"},
            tabular_parts={"Товары": _SERVICE_ROW},
        ),
        EntitySet(
            "Document_РеализацияТоваровУслуг",
            {
                **_DOCUMENT,
                "ВидОперации": "Услуги",
                "Контрагент_Key": EMPTY_REF,
                "ДоговорКонтрагента_Key": EMPTY_REF,
                "СуммаДокумента": 0,
                "СуммаВключаетНДС": False,
                "НомерВходящегоДокумента": "",
                "ДатаВходящегоДокумента": None,
            },
            references={**_DOCUMENT_REFERENCES, "Контрагент_Key": "Catalog_Контрагенты"},
            tabular_parts={"Услуги": _SERVICE_ROW},
        ),
        EntitySet(
            "Document_ПоступлениеНаРасчетныйСчет",
            {
                **_DOCUMENT,
                "ВидОперации": "ОплатаПокупателя",
                "СчетОрганизации_Key": EMPTY_REF,
                "Контрагент_Key": EMPTY_REF,
                "СчетКонтрагента_Key": EMPTY_REF,
                "СуммаДокумента": 0,
                "НазначениеПлатежа": "",
                "НомерВходящегоДокумента": "",
                "ДатаВходящегоДокумента": None,
            },
            references={
                **_DOCUMENT_REFERENCES,
                "Контрагент_Key": "Catalog_Контрагенты",
                "СчетКонтрагента_Key": "Catalog_БанковскиеСчета",
                "СчетОрганизации_Key": "Catalog_БанковскиеСчета",
            },
        ),
    )
}

# -- errors ---------------------------------------------------------------------------------------


class ODataError(Exception):
    """An answer in 1C's error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    body = {"odata.error": {"code": code, "message": {"lang": "ru", "value": message}}}
    return JSONResponse(body, status_code=status)


def _bad_request(message: str) -> ODataError:
    return ODataError(400, "1", message)


def _not_found(entity_set: str, key: str) -> ODataError:
    return ODataError(404, "6", f"Экземпляр сущности {entity_set}(guid'{key}') не найден")


# -- URLs -----------------------------------------------------------------------------------------

_RESOURCE = re.compile(
    r"^(?P<set>(?:Catalog|Document)_[^\W\d_]\w*)"
    r"(?:\(guid'(?P<key>[0-9a-fA-F-]{36})'\))?"
    r"(?:/(?P<action>Post|Unpost)\(\))?$"
)


@dataclass(frozen=True)
class Resource:
    """What an OData path names: an entity set, one entity of it, or an action on one."""

    entity_set: EntitySet
    key: str | None = None
    action: Literal["Post", "Unpost"] | None = None


def parse_resource(path: str) -> Resource:
    """``Document_X(guid'…')/Post()`` → its parts; an unknown set or form is a 404 or 400."""
    match = _RESOURCE.match(path)
    if match is None:
        raise _bad_request(f"Неправильный URL ресурса: {path}")
    entity_set = ENTITY_SETS.get(match["set"])
    if entity_set is None:
        raise ODataError(404, "3", f"Не найден сегмент ресурса {match['set']}")
    key = match["key"]
    if key is not None:
        try:
            key = str(uuid.UUID(key))
        except ValueError as error:
            raise _bad_request(f"Неправильный ключ {key}") from error
    action: Literal["Post", "Unpost"] | None = (
        "Post" if match["action"] == "Post" else "Unpost" if match["action"] else None
    )
    if action is not None and (key is None or not entity_set.is_document):
        raise _bad_request(f"{action}() применим только к документу, заданному ключом")
    return Resource(entity_set, key, action)


# -- $filter --------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<guid>guid'[0-9a-fA-F-]{36}')"
    r"|(?P<datetime>datetime'[0-9T:\-.]+')"
    r"|(?P<string>'(?:[^']|'')*')"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<paren>[()])"
    r"|(?P<word>[^\W\d]\w*)"
    r")"
)
_COMPARISONS: Mapping[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and a > b,
    "ge": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "le": lambda a, b: a is not None and a <= b,
}
Predicate = Callable[[Mapping[str, Any]], bool]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _bad_request(f"Ошибка разбора $filter в позиции {position}: {text[position:]}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match[kind]))
        position = match.end()
    return tokens


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return text[1:-1].replace("''", "'")
    if kind == "guid":
        return str(uuid.UUID(text[5:-1]))
    if kind == "datetime":
        return _datetime_text(text[9:-1])
    if kind == "number":
        return float(text)
    if kind == "word" and text in ("true", "false"):
        return text == "true"
    if kind == "word" and text == "null":
        return None
    raise _bad_request(f"Ожидалось значение, а не {text}")


def _datetime_text(value: str) -> str:
    """1C's datetime as stored and shown: ``YYYY-MM-DDTHH:MM:SS`` (comparable as text)."""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError as error:
        raise _bad_request(f"Неправильное значение даты {value}") from error


def parse_filter(text: str, entity_set: EntitySet) -> Predicate:
    """A ``$filter`` expression as a predicate over an entity's properties."""
    tokens = _tokens(text)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        token = peek()
        if token is None:
            raise _bad_request(f"Неожиданный конец $filter: {text}")
        position += 1
        return token

    def disjunction() -> Predicate:
        parts = [conjunction()]
        while peek() == ("word", "or"):
            take()
            parts.append(conjunction())
        return parts[0] if len(parts) == 1 else lambda e: any(p(e) for p in parts)

    def conjunction() -> Predicate:
        parts = [primary()]
        while peek() == ("word", "and"):
            take()
            parts.append(primary())
        return parts[0] if len(parts) == 1 else lambda e: all(p(e) for p in parts)

    def primary() -> Predicate:
        kind, value = take()
        if (kind, value) == ("paren", "("):
            inner = disjunction()
            if take() != ("paren", ")"):
                raise _bad_request(f"Не закрыта скобка в $filter: {text}")
            return inner
        if kind != "word" or value not in entity_set.properties or value in ("and", "or"):
            raise _bad_request(f"Свойство {value} не найдено у {entity_set.name}")
        name = value
        operator_kind, operator = take()
        if operator_kind != "word" or operator not in _COMPARISONS:
            raise _bad_request(f"Неподдерживаемая операция {operator} в $filter")
        literal = _literal(*take())
        compare = _COMPARISONS[operator]

        def predicate(entity: Mapping[str, Any]) -> bool:
            current = entity.get(name)
            if isinstance(literal, float) and isinstance(current, int | float):
                current = float(current)
            try:
                return compare(current, literal)
            except TypeError:
                return False

        return predicate

    predicate = disjunction()
    if peek() is not None:
        raise _bad_request(f"Лишнее в $filter после позиции {position}: {text}")
    return predicate


# -- the store ------------------------------------------------------------------------------------


@dataclass
class OneCConfig:
    """A base's name in the URL and who may log in (user name → password)."""

    users: dict[str, str]
    base: str = "accounting"


@dataclass
class _Fault:
    times: int
    status: int | None
    delay_seconds: float
    when: Literal["before", "after"]
    method: str | None
    entity_set: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.entity_set is None or path.startswith(self.entity_set)
        )


@dataclass
class _Store:
    config: OneCConfig
    entities: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    faults: list[_Fault] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def of(self, entity_set: EntitySet) -> dict[str, dict[str, Any]]:
        return self.entities.setdefault(entity_set.name, {})

    def next_number(self, entity_set: EntitySet) -> str:
        number = self.numbers.get(entity_set.name, 0) + 1
        self.numbers[entity_set.name] = number
        # 1C:Бухгалтерия's look: a base prefix, then the number padded within the year.
        return f"00БП-{number:06d}" if entity_set.is_document else f"00-{number:08d}"


def _data_version() -> str:
    return base64.b64encode(secrets.token_bytes(8)).decode("ascii")


def _apply(
    entity_set: EntitySet, entity: dict[str, Any], body: Mapping[str, Any], *, creating: bool
) -> None:
    """Write ``body``'s properties into ``entity`` as 1C would, refusing what it would refuse."""
    for name, value in body.items():
        if name.startswith("odata.") or (name == "Ref_Key" and creating):
            continue
        if name in ("Ref_Key", "DataVersion", "Posted"):
            raise _bad_request(f"Свойство {name} нельзя изменить")
        if name in entity_set.tabular_parts:
            entity[name] = _tabular_part(entity_set, name, value)
        elif name in entity_set.properties:
            is_date = name == "Date" or name.startswith("Дата")
            entity[name] = _datetime_text(value) if is_date and isinstance(value, str) else value
        else:
            raise _bad_request(f"Свойство {name} не найдено у {entity_set.name}")
    if entity_set.is_document and not entity.get("Date"):
        raise _bad_request("Поле Date не заполнено")


def _tabular_part(entity_set: EntitySet, part: str, rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise _bad_request(f"Табличная часть {part} должна быть массивом строк")
    columns = entity_set.tabular_parts[part]
    result: list[dict[str, Any]] = []
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise _bad_request(f"Строка {index} табличной части {part} должна быть объектом")
        unknown = set(row) - set(columns) - {"LineNumber", "Ref_Key"}
        if unknown:
            raise _bad_request(f"Свойство {', '.join(sorted(unknown))} не найдено у {part}")
        line = {**columns, **{k: v for k, v in row.items() if k != "Ref_Key"}}
        line["LineNumber"] = str(index)  # 1C numbers the rows itself, as strings
        result.append(line)
    return result


def _shown(
    store: _Store,
    entity_set: EntitySet,
    entity: Mapping[str, Any],
    *,
    select: list[str] | None,
    expand: list[str],
) -> dict[str, Any]:
    shown = copy.deepcopy(dict(entity))
    for navigation in expand:
        target = entity_set.references.get(f"{navigation}_Key")
        if target is None:
            raise _bad_request(f"Навигационное свойство {navigation} не найдено")
        referenced = store.entities.get(target, {}).get(str(entity.get(f"{navigation}_Key")))
        shown[navigation] = copy.deepcopy(referenced) if referenced is not None else None
    if select:
        return {name: shown[name] for name in select + expand if name in shown}
    return shown


# -- the app --------------------------------------------------------------------------------------


class FaultRequest(BaseModel):
    """The next ``times`` OData requests (of ``method``, on ``entity_set``, if given) fail."""

    model_config = ConfigDict(extra="forbid")
    times: int = Field(default=1, ge=1, le=1000)
    status: int | None = Field(default=500, ge=400, le=599)
    delay_seconds: float = Field(default=0, ge=0, le=120)
    when: Literal["before", "after"] = Field(
        default="before",
        description="before: nothing is done; after: the work is done and the answer lost.",
    )
    method: Literal["GET", "POST", "PATCH"] | None = None
    entity_set: str | None = Field(default=None, max_length=200)


def odata_root(server_url: str, base: str) -> str:
    """The OData root of ``base`` on a 1C web server (what a connector's endpoint is)."""
    return f"{server_url.rstrip('/')}/{base}/{STANDARD_ODATA}"


def _unauthorized() -> Response:
    # The web server extension answers before 1C itself: a bare 401 with the Basic challenge.
    return Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="1C:Enterprise"'})


def _authenticated(store: _Store, authorization: str | None) -> bool:
    if not authorization or not authorization.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = store.config.users.get(user)
    return expected is not None and secrets.compare_digest(expected, password)


def create_app(config: OneCConfig) -> FastAPI:
    store = _Store(config)
    app = FastAPI(title="1C:Enterprise OData simulator")
    app.state.store = store
    root = f"/{config.base}/{STANDARD_ODATA}"

    def metadata_url(request: Request, fragment: str) -> str:
        return f"{str(request.base_url).rstrip('/')}{root}/$metadata#{fragment}"

    async def odata(request: Request, path: str) -> Response:
        if not _authenticated(store, request.headers.get("authorization")):
            store.count("401")
            return _unauthorized()
        fault = next((f for f in store.faults if f.matches(request.method, path)), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                store.faults.remove(fault)
            store.count("fault")
            if fault.when == "before":
                await asyncio.sleep(fault.delay_seconds)
                if fault.status is not None:
                    return error_response(fault.status, "-1", _INTERNAL)
        try:
            response = await _handle(request, path)
        except ODataError as error:
            store.count(str(error.status))
            return error.response()
        store.count(f"{request.method} {response.status_code}")
        if fault is not None and fault.when == "after":
            await asyncio.sleep(fault.delay_seconds)
            if fault.status is not None:
                return error_response(fault.status, "-1", _INTERNAL)
        return response

    async def _handle(request: Request, path: str) -> Response:
        if path in ("", "/"):
            return JSONResponse(
                {
                    "odata.metadata": metadata_url(request, "").removesuffix("#"),
                    "value": [{"name": name, "url": name} for name in ENTITY_SETS],
                }
            )
        resource = parse_resource(path)
        entity_set = resource.entity_set
        entities = store.of(entity_set)
        params = request.query_params
        select = [s.strip() for s in params.get("$select", "").split(",") if s.strip()]
        expand = [s.strip() for s in params.get("$expand", "").split(",") if s.strip()]
        if request.method == "GET" and resource.key is None:
            found = list(entities.values())
            if "$filter" in params:
                predicate = parse_filter(params["$filter"], entity_set)
                found = [e for e in found if predicate(e)]
            if "$orderby" in params:
                found = _ordered(found, params["$orderby"], entity_set)
            skip, top = _count_param(params, "$skip"), _count_param(params, "$top")
            found = found[skip or 0 :][: top if top is not None else None]
            return JSONResponse(
                {
                    "odata.metadata": metadata_url(request, entity_set.name),
                    "value": [
                        _shown(store, entity_set, e, select=select, expand=expand) for e in found
                    ],
                }
            )
        if request.method == "POST" and resource.key is None:
            body = await _json_body(request)
            entity: dict[str, Any] = {
                "Ref_Key": str(uuid.uuid4()),
                **copy.deepcopy(dict(entity_set.properties)),
                **{part: [] for part in entity_set.tabular_parts},
            }
            _apply(entity_set, entity, body, creating=True)
            number_field = "Number" if entity_set.is_document else "Code"
            if not entity.get(number_field):
                entity[number_field] = store.next_number(entity_set)
            entity["DataVersion"] = _data_version()
            entities[entity["Ref_Key"]] = entity
            return _element(request, entity_set, entity, status=201)
        if resource.key is None:
            raise ODataError(405, "2", f"Метод {request.method} не поддерживается для набора")
        entity = entities.get(resource.key) or {}
        if not entity:
            raise _not_found(entity_set.name, resource.key)
        if resource.action is not None:
            if request.method != "POST":
                raise ODataError(405, "2", f"{resource.action}() вызывается методом POST")
            entity["Posted"] = resource.action == "Post"
            entity["DataVersion"] = _data_version()
            return Response(status_code=200)
        if request.method == "GET":
            shown = _shown(store, entity_set, entity, select=select, expand=expand)
            return JSONResponse(
                {"odata.metadata": metadata_url(request, f"{entity_set.name}/@Element"), **shown}
            )
        if request.method == "PATCH":
            changed = copy.deepcopy(entity)
            _apply(entity_set, changed, await _json_body(request), creating=False)
            changed["DataVersion"] = _data_version()
            entities[resource.key] = changed
            return _element(request, entity_set, changed, status=200)
        raise ODataError(405, "2", f"Метод {request.method} не поддерживается")

    def _element(
        request: Request, entity_set: EntitySet, entity: Mapping[str, Any], *, status: int
    ) -> JSONResponse:
        return JSONResponse(
            {"odata.metadata": metadata_url(request, f"{entity_set.name}/@Element"), **entity},
            status_code=status,
        )

    @app.api_route(root + "/{path:path}", methods=["GET", "POST", "PATCH", "DELETE", "PUT"])
    async def entity_route(request: Request, path: str) -> Response:
        return await odata(request, path)

    @app.api_route(root, methods=["GET"])
    async def service_document(request: Request) -> Response:
        return await odata(request, "")

    @app.post("/simulator/faults", status_code=204)
    async def add_fault(fault: FaultRequest) -> Response:
        store.faults.append(
            _Fault(
                times=fault.times,
                status=fault.status,
                delay_seconds=fault.delay_seconds,
                when=fault.when,
                method=fault.method,
                entity_set=fault.entity_set,
            )
        )
        return Response(status_code=204)

    @app.get("/simulator/stats")
    async def stats() -> dict[str, int]:
        return dict(store.counters)

    @app.post("/simulator/reset", status_code=204)
    async def reset() -> Response:
        store.entities.clear()
        store.counters.clear()
        store.faults.clear()
        store.numbers.clear()
        return Response(status_code=204)

    return app


_INTERNAL = (
    "Произошла внутренняя ошибка OData сервиса. Дополнительные сведения можно найти "
    "в технологическом журнале."
)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as error:
        raise _bad_request("Тело запроса не является JSON") from error
    if not isinstance(body, dict):
        raise _bad_request("Тело запроса должно быть объектом")
    return body


def _count_param(params: Mapping[str, str], name: str) -> int | None:
    if name not in params:
        return None
    value = params[name]
    if not value.isdigit():
        raise _bad_request(f"Неправильное значение {name}: {value}")
    return int(value)


def _ordered(
    entities: list[dict[str, Any]], orderby: str, entity_set: EntitySet
) -> list[dict[str, Any]]:
    ordered = entities
    # Stable sorts from the last key to the first give the combined order.
    for clause in reversed([c.strip() for c in orderby.split(",") if c.strip()]):
        name, _, direction = clause.partition(" ")
        if name not in entity_set.properties and name != "Ref_Key":
            raise _bad_request(f"Свойство {name} не найдено у {entity_set.name}")
        ordered = sorted(
            ordered,
            key=lambda e: (e.get(name) is not None, e.get(name) or ""),
            reverse=direction.strip().lower() == "desc",
        )
    return ordered


# -- serving --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running(config: OneCConfig, *, port: int | None = None) -> Iterator[str]:
    """Serve the simulator on 127.0.0.1 in a background thread; yields the server's URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name=f"onec-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the 1C simulator did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _user_arg(text: str) -> tuple[str, str]:
    user, _, password = text.partition(":")
    return user, password


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vitrina_simulators.onec")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--base", default="accounting", help="the base's name in the URL")
    parser.add_argument(
        "--user",
        action="append",
        type=_user_arg,
        metavar="NAME:PASSWORD",
        help="a user that may log in (repeatable); default: the local stack's odata:dev-odata",
    )
    args = parser.parse_args(argv)
    config = OneCConfig(users=dict(args.user or [("odata", "dev-odata")]), base=args.base)
    print(f"1C OData root: {odata_root(f'http://{args.host}:{args.port}', args.base)}")
    uvicorn.run(create_app(config), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
