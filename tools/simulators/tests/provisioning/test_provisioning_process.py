"""The partner simulator as a process serves it: the signing secret handed over through the
controls, then a signed call verified and listed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from fastapi.testclient import TestClient
from vitrina_simulators.partner import SIGNATURE_HEADER, PartnerServer
from vitrina_simulators.provisioning import create_app


def _signed(body: bytes, secret: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {SIGNATURE_HEADER: f"t={stamp},v1={digest}", "Content-Type": "application/json"}


def test_a_call_is_verified_with_the_secret_handed_over_and_listed() -> None:
    client = TestClient(create_app(PartnerServer(url="http://127.0.0.1:8092/provisioning")))
    body = json.dumps(
        {"type": "provisioning.activate", "data": {"subscription": {"subscription_id": "s-1"}}}
    ).encode()

    before = client.post("/provisioning", content=body, headers=_signed(body, "whsec_demo"))
    assert before.status_code == 400  # no secret yet: refused, not trusted
    assert client.put("/simulator/secret", json={"secret": "whsec_demo"}).status_code == 204
    accepted = client.post("/provisioning", content=body, headers=_signed(body, "whsec_demo"))

    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"account_id": "acc-0001", "status": "ready"}
    calls = client.get("/simulator/calls").json()
    assert [(call["verified"], call["account_id"]) for call in calls] == [
        (False, None),
        (True, "acc-0001"),
    ]
    assert calls[1]["message"]["type"] == "provisioning.activate"
    stats = client.get("/simulator/stats").json()
    assert stats == {"calls": 2, "verified": 1, "refused": 1, "accounts": 1, "has_secret": True}


def test_main_serves_on_the_host_and_port_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from vitrina_simulators import provisioning

    served: dict[str, object] = {}
    monkeypatch.setattr(provisioning.uvicorn, "run", lambda app, **options: served.update(options))

    provisioning.main(["--host=0.0.0.0", "--port=18092"])

    assert served == {"host": "0.0.0.0", "port": 18092}
