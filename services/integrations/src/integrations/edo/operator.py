"""The EDO operator's HTTP API, as the connector speaks it (modelled on Kontur.Diadoc's).

- ``POST /V3/PostMessage?operationId=…``: a message from our box to the buyer's with the UPD
  (content base64); the operator answers the same message for a repeated ``operationId``, which
  is what makes a retry after a lost answer safe;
- ``GET /V7/GetNewEvents?boxId=…&afterIndexKey=…``: the box's docflow events after a cursor.

Authentication is the connector's (OAuth 2.0 bearer tokens). Errors are sorted for the caller:
:class:`OperatorUnavailable` is worth retrying (timeouts, 5xx, 429), :class:`OperatorRefused`
is not (the operator read the request and said no).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from integrations.connectors.client import ConnectorClient
from integrations.edo.domain import Observed

UPD_TYPE = "UniversalTransferDocument"
UPD_FUNCTION = "СЧФДОП"
UPD_VERSION = "utd970_05_03_01"
EVENTS_PAGE_SIZE = 100

# Docflow event types this connector acts on; the feed carries others (our own sending, the
# buyer's receipt notices...) which are read past.
_OBSERVED: dict[str, Observed] = {
    "DocumentDelivered": "delivered",
    "RecipientSigned": "signed",
    "RecipientSignatureRejected": "rejected",
}


class OperatorUnavailable(Exception):
    """No usable answer (timeout, connection error, 5xx, 429): try again later."""


class OperatorRefused(Exception):
    """The operator answered and refused (4xx): sending the same again would not help."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class DocflowEvent:
    event_id: str
    index_key: str
    message_id: str
    kind: Observed
    comment: str | None


@dataclass(frozen=True)
class EventsPage:
    events: Sequence[DocflowEvent]
    last_index_key: str | None
    complete: bool


class EdoOperator:
    def __init__(self, client: ConnectorClient) -> None:
        self._client = client

    async def post_message(
        self,
        *,
        from_box: str,
        to_box: str,
        file_name: str,
        content: bytes,
        document_id: str,
        operation_id: str,
    ) -> str:
        """Send one UPD to the buyer's box; the operator's message id."""
        body = {
            "FromBoxId": from_box,
            "ToBoxId": to_box,
            "DocumentAttachments": [
                {
                    "TypeNamedId": UPD_TYPE,
                    "Function": UPD_FUNCTION,
                    "Version": UPD_VERSION,
                    "FileName": file_name,
                    "SignedContent": {"Content": base64.b64encode(content).decode("ascii")},
                    "CustomDocumentId": document_id,
                    "NeedRecipientSignature": True,
                }
            ],
        }
        response = await self._call(
            "POST", "V3/PostMessage", params={"operationId": operation_id}, json=body
        )
        return str(response["MessageId"])

    async def new_events(self, *, box_id: str, after_index_key: str | None) -> EventsPage:
        """One page of the box's docflow events after ``after_index_key`` (None: the start)."""
        params = {"boxId": box_id}
        if after_index_key:
            params["afterIndexKey"] = after_index_key
        response = await self._call("GET", "V7/GetNewEvents", params=params)
        raw: list[dict[str, Any]] = response.get("Events", [])
        events = [
            DocflowEvent(
                event_id=str(event["EventId"]),
                index_key=str(event["IndexKey"]),
                message_id=str(event["MessageId"]),
                kind=_OBSERVED[event["EventType"]],
                comment=event.get("Comment"),
            )
            for event in raw
            if event.get("EventType") in _OBSERVED
        ]
        return EventsPage(
            events=events,
            last_index_key=str(raw[-1]["IndexKey"]) if raw else after_index_key,
            complete=len(raw) < EVENTS_PAGE_SIZE,
        )

    async def _call(
        self, method: Literal["GET", "POST"], path: str, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TransportError as error:  # timeouts included
            raise OperatorUnavailable(f"{type(error).__name__}: {error}") from error
        if response.status_code >= 500 or response.status_code == httpx.codes.TOO_MANY_REQUESTS:
            raise OperatorUnavailable(f"HTTP {response.status_code}: {response.text[:500]}")
        if response.status_code >= 400:
            raise OperatorRefused(response.status_code, response.text[:2000])
        body: dict[str, Any] = response.json()
        return body
