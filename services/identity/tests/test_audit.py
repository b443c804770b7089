"""Identity's own changes are in its audit log: who, what, on which organization or client."""

from __future__ import annotations

import httpx

from identity.testing import Member, idempotency_key


async def test_changes_to_organizations_and_clients_are_audited(
    client: httpx.AsyncClient, operator: dict[str, str], business: Member
) -> None:
    rotated = await client.post(
        f"/organizations/{business.id}/clients/{business.client_id}/rotate-secret",
        headers={**business.headers, **idempotency_key()},
    )
    assert rotated.status_code in (200, 201), rotated.text
    await client.get(f"/organizations/{business.id}", headers=business.headers)  # a read

    log = await client.get("/ops/audit", headers=operator)
    assert log.status_code == 200, log.text
    entries = log.json()["items"]
    actions = [(e["action"], e["organization_kind"]) for e in entries]
    assert actions[0] == (
        "POST /organizations/{organization_id}/clients/{client_id}/rotate-secret",
        "business",
    )
    assert entries[0]["target"] == {
        "organization_id": business.id,
        "client_id": business.client_id,
    }
    assert entries[0]["client_id"] == business.client_id
    # The operator registered the business and made its client before that.
    assert ("POST /organizations/{organization_id}/clients", "operator") in actions
    assert ("POST /organizations", "operator") in actions
    assert all(not e["action"].startswith("GET") for e in entries)

    assert (await client.get("/ops/audit", headers=business.headers)).status_code == 403
