"""The EDO operator simulator over real HTTP: authentication, XSD validation, idempotent posting,
asynchronous delivery, the buyer's answer."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from vitrina_simulators.edo_operator import Client, SimulatorConfig, running

from integrations.edo.upd import Signer, build_upd
from vitrina_contracts.events.billing import ClosingDocumentIssued

SENDER = "2BM-7704123450-770401001-000000000000001"
RECEIVER = "2BM-5012345672-501201001-000000000000042"


@pytest.fixture
def url() -> Iterator[str]:
    config = SimulatorConfig(
        clients=[Client("seller", "s", SENDER), Client("buyer", "b", RECEIVER)],
        delivery_delay_seconds=0.1,
    )
    with running(config) as base_url:
        yield base_url


def token(http: httpx.Client, client_id: str, secret: str) -> dict[str, str]:
    answer = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def message(content: bytes, file_name: str) -> dict[str, object]:
    return {
        "FromBoxId": SENDER,
        "ToBoxId": RECEIVER,
        "DocumentAttachments": [
            {
                "TypeNamedId": "UniversalTransferDocument",
                "Function": "СЧФДОП",
                "FileName": file_name,
                "SignedContent": {"Content": base64.b64encode(content).decode()},
            }
        ],
    }


def test_post_deliver_and_sign(url: str) -> None:
    upd = build_upd(
        ClosingDocumentIssued.example(),
        signer=Signer(last_name="Петрова", first_name="Анна", position="Директор"),
        formed_at=datetime(2026, 1, 31, 9, 0),
    )
    with httpx.Client(base_url=url) as http:
        assert (
            http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=("seller", "wrong")
            ).status_code
            == 401
        )
        assert (
            http.post("/V3/PostMessage", json=message(upd.content, upd.file_name)).status_code
            == 401
        )
        seller = token(http, "seller", "s")

        broken = upd.content.replace("НомерДок".encode("cp1251"), "Номер".encode("cp1251"))
        refused = http.post("/V3/PostMessage", json=message(broken, upd.file_name), headers=seller)
        assert refused.status_code == 400
        assert "fails validation" in refused.text
        misnamed = http.post(
            "/V3/PostMessage", json=message(upd.content, "other.xml"), headers=seller
        )
        assert misnamed.status_code == 400

        posted = [
            http.post(
                "/V3/PostMessage",
                params={"operationId": "op-1"},
                json=message(upd.content, upd.file_name),
                headers=seller,
            )
            for _ in range(2)
        ]
        assert [p.status_code for p in posted] == [200, 200]
        assert posted[0].json()["MessageId"] == posted[1].json()["MessageId"]
        assert len(http.get("/simulator/messages").json()) == 1
        message_id = posted[0].json()["MessageId"]

        buyer = token(http, "buyer", "b")
        deadline = time.monotonic() + 5
        kinds: list[str] = []
        while "DocumentDelivered" not in kinds and time.monotonic() < deadline:
            feed = http.get("/V7/GetNewEvents", params={"boxId": SENDER}, headers=seller).json()
            kinds = [event["EventType"] for event in feed["Events"]]
            time.sleep(0.05)
        assert kinds == ["DocumentSent", "DocumentDelivered"]
        assert (
            http.get("/V7/GetNewEvents", params={"boxId": SENDER}, headers=buyer).status_code == 403
        )

        signed = http.post(
            "/V3/PostMessagePatch",
            json={"BoxId": RECEIVER, "MessageId": message_id, "RecipientTitles": [{}]},
            headers=buyer,
        )
        assert signed.status_code == 200
        again = http.post(
            "/V3/PostMessagePatch",
            json={"BoxId": RECEIVER, "MessageId": message_id, "RecipientTitles": [{}]},
            headers=buyer,
        )
        assert again.status_code == 409
        last_key = feed["Events"][-1]["IndexKey"]
        after = http.get(
            "/V7/GetNewEvents", params={"boxId": SENDER, "afterIndexKey": last_key}, headers=seller
        ).json()
        assert [event["EventType"] for event in after["Events"]] == ["RecipientSigned"]
