"""1C:Enterprise's standard OData interface (``…/<base>/odata/standard.odata/``), as the connector
speaks it: JSON, HTTP Basic (the connector's login and encrypted password), OData 3.0 literals.

Failures are sorted for the caller, who decides about retrying:

- :class:`OneCUnavailable` — no usable answer (timeout, connection error, 5xx, 429): try again;
- :class:`OneCCredentialsRefused` — 401/403: a person must fix the login or the user's rights,
  and asking again with the same password only fills 1C's log (and may lock the user out);
- :class:`OneCRefused` — 1C read the request and said no (4xx): its message says why.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx

from integrations.connectors.client import ConnectorClient

# What OData keeps literal in a query: quoting ``$``, ``'`` or ``(`` would make 1C's parser
# (behind IIS or Apache) see other text than was meant.
_QUERY_SAFE = "$,'()/:;=*"
PAGE_SIZE = 100


class OneCUnavailable(Exception):
    """1C gave no usable answer: worth trying again later."""


class OneCCredentialsRefused(Exception):
    """1C refused the connector's login: nobody should retry until a person fixes it."""


class OneCRefused(Exception):
    """1C answered and refused; ``message`` is 1C's own (``odata.error.message.value``)."""

    def __init__(self, status_code: int, code: str | None, message: str) -> None:
        super().__init__(f"1С ответила {status_code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message


def text(value: str) -> str:
    """A string literal: ``'ООО ''Ромашка'''``."""
    return "'" + value.replace("'", "''") + "'"


def guid(value: uuid.UUID | str) -> str:
    return f"guid'{uuid.UUID(str(value))}'"


def datetime_value(value: date | datetime) -> str:
    """1C's date-time as it is written into a property: no zone, whole seconds."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)  # noqa: DTZ001 - 1C has no zones
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def datetime_literal(value: date | datetime) -> str:
    return f"datetime'{datetime_value(value)}'"


def parse_datetime(value: str) -> datetime:
    """A 1C date-time property (naive: the base's own wall clock)."""
    return datetime.fromisoformat(value)


class OneCOData:
    """The entity sets of one 1C base, reached through a connector's HTTP client."""

    def __init__(self, client: ConnectorClient) -> None:
        self._client = client

    async def find(
        self,
        entity_set: str,
        *,
        where: str | None = None,
        select: Sequence[str] = (),
        expand: Sequence[str] = (),
        orderby: str | None = None,
        top: int | None = None,
        skip: int | None = None,
    ) -> list[dict[str, Any]]:
        """``GET <entity_set>?$filter=…``: the entities found (``value``)."""
        query: dict[str, str] = {}
        if where:
            query["$filter"] = where
        if select:
            query["$select"] = ",".join(select)
        if expand:
            query["$expand"] = ",".join(expand)
        if orderby:
            query["$orderby"] = orderby
        if top is not None:
            query["$top"] = str(top)
        if skip:
            query["$skip"] = str(skip)
        body = await self._call("GET", entity_set, query)
        assert body is not None
        found: list[dict[str, Any]] = body.get("value", [])
        return found

    async def get(self, entity_set: str, key: uuid.UUID) -> dict[str, Any] | None:
        """``GET <entity_set>(guid'…')``; None if 1C has no such entity."""
        return await self._call("GET", f"{entity_set}({guid(key)})", missing_ok=True)

    async def create(self, entity_set: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``POST <entity_set>``: the created entity, with the ``Ref_Key`` 1C gave it.

        Not idempotent: a caller whose answer was lost must look the entity up before posting
        it again.
        """
        created = await self._call("POST", entity_set, json=fields)
        assert created is not None
        return created

    async def update(
        self, entity_set: str, key: uuid.UUID, fields: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """``PATCH <entity_set>(guid'…')``: the entity as changed; None if it is gone."""
        return await self._call("PATCH", f"{entity_set}({guid(key)})", json=fields, missing_ok=True)

    async def post_document(self, entity_set: str, key: uuid.UUID) -> None:
        """``POST <Document_…>(guid'…')/Post()``: post it (again) in the regular mode."""
        await self._call(
            "POST", f"{entity_set}({guid(key)})/Post()", {"PostingModeOperational": "false"}
        )

    async def _call(
        self,
        method: Literal["GET", "POST", "PATCH"],
        resource: str,
        query: Mapping[str, str] | None = None,
        *,
        json: Mapping[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        parameters = {"$format": "json", **(query or {})}
        path = (
            resource
            + "?"
            + "&".join(f"{k}={quote(v, safe=_QUERY_SAFE)}" for k, v in parameters.items())
        )
        try:
            response = await self._client.request(method, path, json=json)
        except httpx.TransportError as error:  # timeouts included
            raise OneCUnavailable(f"1С не ответила: {type(error).__name__}: {error}") from error
        status = response.status_code
        if status >= 500 or status == httpx.codes.TOO_MANY_REQUESTS:
            code, message = _error_of(response)
            raise OneCUnavailable(f"1С ответила {status}: {message}")
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            login = self._client.connector.login
            raise OneCCredentialsRefused(
                f"1С отказала пользователю {login!r} (HTTP {status}): проверьте логин и пароль "
                "подключения и права пользователя на стандартный интерфейс OData"
            )
        if status == httpx.codes.NOT_FOUND and missing_ok:
            return None
        if status >= 400:
            code, message = _error_of(response)
            raise OneCRefused(status, code, message)
        if not response.content:
            return None
        body: dict[str, Any] = response.json()
        return body


def _error_of(response: httpx.Response) -> tuple[str | None, str]:
    """1C's ``odata.error`` code and message, or the body's start when it is not 1C's JSON
    (a web server in front of 1C answers in its own words)."""
    try:
        error = response.json().get("odata.error") or {}
        message = error.get("message") or {}
        value = message.get("value") if isinstance(message, dict) else message
        return (str(error["code"]) if "code" in error else None), str(value or response.text)
    except (ValueError, AttributeError):
        return None, response.text[:500] or response.reason_phrase
