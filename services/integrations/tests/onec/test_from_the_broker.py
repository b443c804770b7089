"""invoice.issued and closing_document.issued through the real broker → written to the 1C
simulator by the service's own worker (consumer, sync job), a redelivery changing nothing."""

from __future__ import annotations

from integrations.main import SERVICE
from integrations.settings import IntegrationsSettings
from vitrina_contracts.envelope import build_envelope
from vitrina_contracts.events.base import Event
from vitrina_kit.service import build_app
from vitrina_kit.testing import TestIssuer, app_client, send_raw, wait_until

from .conftest import OneC, add_connector, new_closing_document, new_invoice


async def publish(bootstrap: str, event: Event) -> None:
    envelope = build_envelope(
        event, source="/vitrina/billing", subject=event.aggregate_id(), aggregate_version=1
    )
    await send_raw(
        bootstrap, event.topic, [envelope.to_json_bytes()], key=envelope.subject.encode()
    )


async def test_documents_from_the_broker_reach_1c_once(
    database_url: str,
    kafka_bootstrap: str,
    token_issuer: TestIssuer,
    operator_headers: dict[str, str],
    onec: OneC,
) -> None:
    settings = IntegrationsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=1000,
        kafka_fetch_max_wait_ms=50,
        onec_sync_interval_seconds=0.2,
        onec_sync_retry_base_seconds=0.01,
        connector_timeout_seconds=1,
    )
    app = build_app(SERVICE, settings, with_workers=True, key_source=token_issuer.key_source)
    async with app_client(app) as client:
        client.headers.update(operator_headers)
        await add_connector(client, onec)
        invoice, closing = new_invoice(), new_closing_document()
        await publish(kafka_bootstrap, invoice)
        await publish(kafka_bootstrap, closing)
        await publish(kafka_bootstrap, invoice)  # the same event again: a redelivery

        async def both_synced() -> bool:
            listing = (await client.get("/onec/sync", params={"status": "synced"})).json()
            return len(listing["items"]) == 2

        await wait_until(both_synced, timeout=30)
        assert len(await onec.entities("Document_СчетНаОплатуПокупателю")) == 1
        [sale] = await onec.entities("Document_РеализацияТоваровУслуг")
        assert sale["Posted"] is True
        assert len(await onec.entities("Catalog_Контрагенты")) == 1
        item = (await client.get(f"/onec/sync/{invoice.invoice.document_id}")).json()
        assert item["ref_key"] is not None
        assert item["last_error"] is None
