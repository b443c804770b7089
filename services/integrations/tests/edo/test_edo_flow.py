"""closing_document.issued through the real broker → the UPD sent to the EDO operator simulator
(a real HTTP server) → delivered → signed or rejected by the buyer; the operator failing on the
way loses nothing and duplicates nothing; an invalid document fails loudly and is never sent."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from prometheus_client import REGISTRY
from vitrina_simulators import partner as partner_simulator

from integrations.edo import metrics as edo_metrics
from integrations.edo.upd import validate
from integrations.main import SERVICE
from integrations.settings import IntegrationsSettings
from vitrina_contracts.envelope import CloudEvent, build_envelope
from vitrina_contracts.events.base import Event
from vitrina_contracts.events.billing import ClosingDocumentIssued
from vitrina_contracts.events.identity import OrganizationUpdated
from vitrina_kit import db
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, send_raw, wait_until

from .conftest import BUYER_BOX, OPERATOR_BOX, Outbox

SELLER_ID = ClosingDocumentIssued.example().document.seller.organization_id


def envelope(event: Event, *, owner: str, version: int = 1) -> CloudEvent:
    return build_envelope(
        event, source=f"/vitrina/{owner}", subject=event.aggregate_id(), aggregate_version=version
    )


async def publish(bootstrap: str, topic: str, *sent: CloudEvent) -> None:
    for each in sent:
        await send_raw(bootstrap, topic, [each.to_json_bytes()], key=each.subject.encode())


def closing_document(
    *, buyer_id: uuid.UUID, buyer_edo_id: str | None = None, okei_code: str = "796"
) -> ClosingDocumentIssued:
    """The contract's example, as a new document of a new buyer (EDO id from identity)."""
    example = ClosingDocumentIssued.example().document
    buyer = example.buyer.model_copy(
        update={"organization_id": buyer_id, "edo_participant_id": buyer_edo_id}
    )
    lines = tuple(line.model_copy(update={"okei_code": okei_code}) for line in example.lines)
    return ClosingDocumentIssued(
        document=example.model_copy(
            update={"document_id": uuid.uuid4(), "buyer": buyer, "lines": lines}
        )
    )


def edo_series(name: str) -> dict[str, float]:
    """One value per EDO status of ``name``, a metric labelled by status (0 where none)."""
    return {
        status: REGISTRY.get_sample_value(name, {"status": status}) or 0.0
        for status in edo_metrics.STATUSES
    }


def transitions_since(before: dict[str, float]) -> dict[str, float]:
    now = edo_series("vitrina_edo_document_transitions_total")
    return {status: now[status] - before[status] for status in now if now[status] != before[status]}


async def documents_counted(database_url: str) -> dict[str, float]:
    """The documents gauge, refreshed now (the tracker refreshes it only every 15 s)."""
    engine = db.create_engine(database_url, pool_size=1)
    try:
        await edo_metrics.count_documents(db.create_session_factory(engine), every=0)
    finally:
        await engine.dispose()
    return {status: n for status, n in edo_series("vitrina_edo_documents").items() if n}


@asynccontextmanager
async def integrations(
    database_url: str, kafka_bootstrap: str, token_issuer: TestIssuer, edo_simulator: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = IntegrationsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=1000,
        kafka_fetch_max_wait_ms=50,
        edo_send_interval_seconds=0.2,
        edo_track_interval_seconds=0.2,
        edo_send_retry_base_seconds=0.05,
        connector_timeout_seconds=1,
        consumer_retry_stages="500ms,1s,2s",
        # The partner simulator's endpoint on loopback takes the buyer's webhooks.
        webhook_allow_http=True,
        webhook_allowed_networks=["127.0.0.0/8"],
        webhook_dispatch_interval_seconds=0.2,
        webhook_timeout_seconds=2,
    )
    app = build_app(SERVICE, settings, with_workers=True, key_source=token_issuer.key_source)
    async with app_client(app) as client:
        operator = token_issuer.headers(SELLER_ID, OrganizationKind.OPERATOR)
        connector = await client.post(
            "/connectors",
            json={
                "kind": "edo_operator",
                "name": "diadoc",
                "endpoint_url": edo_simulator,
                "auth_method": "oauth2_client_credentials",
                "token_url": f"{edo_simulator}/oauth/token",
                "login": "vitrina",
                "options": {"box_id": OPERATOR_BOX},
                "secrets": {"client_secret": "operator-secret"},
            },
            headers={**operator, "Idempotency-Key": "edo"},
        )
        assert connector.status_code == 201, connector.text
        yield client


class Buyer:
    """The buyer at its EDO operator: signs or rejects what it received."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def answer(self, message_id: str, **patch: Any) -> None:
        async with httpx.AsyncClient(base_url=self.url) as http:
            token = (
                await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=("romashka", "buyer-secret"),
                )
            ).json()["access_token"]
            response = await http.post(
                "/V3/PostMessagePatch",
                json={"BoxId": BUYER_BOX, "MessageId": message_id, **patch},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text


async def simulator(url: str, method: str, path: str, **kwargs: Any) -> Any:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.request(method, path, **kwargs)
        return response.json() if response.content else None


async def test_sent_delivered_and_signed_once_despite_failures_and_redeliveries(
    database_url: str,
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
    edo_simulator: str,
    outbox: Outbox,
) -> None:
    buyer_id = uuid.uuid4()
    business = token_issuer.headers(buyer_id, OrganizationKind.BUSINESS)
    stranger = token_issuer.headers(uuid.uuid4(), OrganizationKind.BUSINESS)
    # Two 500s, then an answer that comes after the client gave up (the document was taken):
    # retried with backoff, and the repeated operationId gets the same message back.
    await simulator(
        edo_simulator,
        "POST",
        "/simulator/faults",
        json={"path": "/V3/PostMessage", "times": 2, "status": 500},
    )
    await simulator(
        edo_simulator,
        "POST",
        "/simulator/faults",
        json={"path": "/V3/PostMessage", "times": 1, "delay_seconds": 2},
    )
    transitions = edo_series("vitrina_edo_document_transitions_total")

    async with integrations(database_url, kafka_bootstrap, token_issuer, edo_simulator) as client:
        issued = closing_document(buyer_id=buyer_id)
        first = envelope(issued, owner="billing")
        # Redelivered, and re-published under a new event id: one document all the same.
        await publish(
            kafka_bootstrap, "billing.invoices", first, first, envelope(issued, owner="billing")
        )
        # The buyer's EDO id arrives from identity after the document (topics are not ordered
        # with each other): the document waits for it, nothing fails.
        organization = OrganizationUpdated.example().organization.model_copy(
            update={"organization_id": buyer_id, "edo_participant_id": BUYER_BOX}
        )
        await publish(
            kafka_bootstrap,
            "identity.organizations",
            envelope(OrganizationUpdated(organization=organization), owner="identity", version=3),
        )

        async def document(status: str) -> dict[str, Any] | None:
            items = (await client.get("/edo/documents", headers=business)).json()["items"]
            return items[0] if items and items[0]["status"] == status else None

        delivered = await wait_until(lambda: document("delivered"), timeout=40, message="delivery")
        await Buyer(edo_simulator).answer(
            delivered["operator_message_id"], RecipientTitles=[{"ParentEntityId": "1"}]
        )
        signed = await wait_until(lambda: document("signed"), timeout=20, message="the signature")

        messages = await simulator(edo_simulator, "GET", "/simulator/messages")
        assert len(messages) == 1
        assert messages[0]["MessageId"] == signed["operator_message_id"]
        stats = await simulator(edo_simulator, "GET", "/simulator/stats")
        assert stats["fault /V3/PostMessage"] == 3
        assert stats["messages accepted"] == 1

        path = f"/edo/documents/{signed['edo_document_id']}"
        assert (await client.get(path, headers=stranger)).status_code == 404
        xml = await client.get(f"{path}/xml", headers=business)
        assert xml.status_code == 200
        assert xml.headers["content-type"] == "application/xml; charset=windows-1251"
        validate(xml.content, file_name=signed["file_name"])
        assert signed["recipient_edo_id"] == BUYER_BOX

    assert await outbox.types(subject=issued.document.document_id) == [
        "edo_document.sent",
        "edo_document.delivered",
        "edo_document.signed",
    ]
    # Once each, for all the operator's failures and the redeliveries.
    assert transitions_since(transitions) == {"sent": 1, "delivered": 1, "signed": 1}
    assert await documents_counted(database_url) == {"signed": 1}


async def test_rejected_with_the_buyers_reason_and_an_invalid_document_never_sent(
    database_url: str,
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
    edo_simulator: str,
    outbox: Outbox,
) -> None:
    buyer_id = uuid.uuid4()
    business = token_issuer.headers(buyer_id, OrganizationKind.BUSINESS)
    transitions = edo_series("vitrina_edo_document_transitions_total")
    async with integrations(database_url, kafka_bootstrap, token_issuer, edo_simulator) as client:
        rejected_one = closing_document(buyer_id=buyer_id, buyer_edo_id=BUYER_BOX)
        # A unit the format cannot name (no national short name for OKEI 999): invalid.
        invalid_one = closing_document(buyer_id=buyer_id, buyer_edo_id=BUYER_BOX, okei_code="999")
        # A box the operator does not know: it refuses the message; retrying would not help.
        unknown_box = "2BM-7701234567-770101001-000000000000099"
        refused_one = closing_document(buyer_id=buyer_id, buyer_edo_id=unknown_box)
        await publish(
            kafka_bootstrap,
            "billing.invoices",
            envelope(invalid_one, owner="billing"),
            envelope(refused_one, owner="billing"),
            envelope(rejected_one, owner="billing"),
        )

        async def document(status: str) -> dict[str, Any] | None:
            listed = await client.get("/edo/documents", params={"status": status}, headers=business)
            items: list[dict[str, Any]] = listed.json()["items"]
            return items[0] if items else None

        delivered = await wait_until(lambda: document("delivered"), timeout=40, message="delivery")
        reason = "Количество мест не соответствует фактическому: 8, а не 10."
        await Buyer(edo_simulator).answer(
            delivered["operator_message_id"],
            RequestedSignatureRejections=[{"ParentEntityId": "1", "ErrorMessage": reason}],
        )
        rejected = await wait_until(
            lambda: document("rejected"), timeout=20, message="the rejection"
        )
        assert rejected["reason"] == reason

        messages = await simulator(edo_simulator, "GET", "/simulator/messages")
        assert [m["MessageId"] for m in messages] == [rejected["operator_message_id"]]

    rejection = await outbox.events(subject=rejected_one.document.document_id)
    assert [e["type"].rsplit(".", 1)[1] for e in rejection] == ["sent", "delivered", "rejected"]
    assert rejection[-1]["data"]["reason"] == reason
    failed = await outbox.events(subject=invalid_one.document.document_id)
    assert [e["type"] for e in failed] == ["ru.vitrina.integrations.edo_document.failed"]
    assert "no unit name for OKEI code 999" in failed[0]["data"]["reason"]
    assert failed[0]["data"]["edo_document"]["operator_message_id"] is None
    refused = await outbox.events(subject=refused_one.document.document_id)
    assert [e["type"] for e in refused] == ["ru.vitrina.integrations.edo_document.failed"]
    assert f"Box {unknown_box} not found" in refused[0]["data"]["reason"]
    expected = {"sent": 1, "delivered": 1, "rejected": 1, "failed": 2}
    assert transitions_since(transitions) == expected
    assert await documents_counted(database_url) == {"rejected": 1, "failed": 2}


async def test_a_document_waiting_for_the_buyers_edo_id_holds_up_nothing_else(
    database_url: str,
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
    edo_simulator: str,
    outbox: Outbox,
) -> None:
    """The buyer's EDO id is not known when its closing document arrives: the event is handled
    at once all the same — the buyer's webhook goes out then, once, not after the consumer's
    retries — and the UPD waits; identity's event later releases it, to be sent once."""
    buyer_id = uuid.uuid4()
    business = token_issuer.headers(buyer_id, OrganizationKind.BUSINESS)
    with partner_simulator.running() as erp:
        async with integrations(
            database_url, kafka_bootstrap, token_issuer, edo_simulator
        ) as client:
            endpoint = await client.post(
                "/webhooks/endpoints",
                json={"url": erp.events_url, "event_types": ["closing_document.issued"]},
                headers={**business, "Idempotency-Key": "erp"},
            )
            assert endpoint.status_code == 201, endpoint.text
            erp.secret = endpoint.json()["signing_secret"]

            issued = closing_document(buyer_id=buyer_id)  # no EDO id anywhere yet
            first = envelope(issued, owner="billing")
            await publish(kafka_bootstrap, "billing.invoices", first, first)  # and redelivered

            async def webhooks() -> list[partner_simulator.Call]:
                return erp.verified

            (call,) = await wait_until(webhooks, timeout=20, message="the buyer's webhook")
            assert call.message["id"] == str(first.id)
            assert call.message["type"] == "closing_document.issued"

            async def document(status: str) -> dict[str, Any] | None:
                items = (await client.get("/edo/documents", headers=business)).json()["items"]
                return items[0] if items and items[0]["status"] == status else None

            waiting = await wait_until(lambda: document("awaiting_participant"), message="wait")
            assert waiting["file_name"] is None
            assert f"buyer {buyer_id}" in waiting["last_error"]
            assert await simulator(edo_simulator, "GET", "/simulator/messages") == []

            organization = OrganizationUpdated.example().organization.model_copy(
                update={"organization_id": buyer_id, "edo_participant_id": BUYER_BOX}
            )
            await publish(
                kafka_bootstrap,
                "identity.organizations",
                envelope(OrganizationUpdated(organization=organization), owner="identity"),
            )
            delivered = await wait_until(
                lambda: document("delivered"), timeout=40, message="delivery"
            )
            assert delivered["recipient_edo_id"] == BUYER_BOX
            xml = await client.get(
                f"/edo/documents/{delivered['edo_document_id']}/xml", headers=business
            )
            validate(xml.content, file_name=delivered["file_name"])
            messages = await simulator(edo_simulator, "GET", "/simulator/messages")
            assert len(messages) == 1
            assert len(erp.calls) == 1  # the webhook went once, the redelivery changed nothing

    assert await outbox.types(subject=issued.document.document_id) == [
        "edo_document.sent",
        "edo_document.delivered",
    ]
