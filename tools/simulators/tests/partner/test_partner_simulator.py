"""The partner simulator over real HTTP: it verifies Vitrina's signature scheme as documented,
a rotation's two ``v1`` values included, and refuses what does not hold."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import pytest
from vitrina_simulators.partner import PartnerServer, running

BODY = b'{"id":"evt-1","type":"payment.allocated","data":{}}'


def v1(secret: str, timestamp: int, body: bytes = BODY) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


@pytest.fixture
def partner() -> Iterator[PartnerServer]:
    with running() as server:
        yield server


def post(url: str, header: str) -> httpx.Response:
    return httpx.post(url, content=BODY, headers={"Vitrina-Signature": header})


def test_either_secret_of_a_rotation_verifies(partner: PartnerServer) -> None:
    now = int(time.time())
    rotation = f"t={now},v1={v1('whsec_new', now)},v1={v1('whsec_old', now)}"

    partner.secret = "whsec_old"  # not switched over yet
    assert post(partner.events_url, rotation).status_code == 204
    partner.secret = "whsec_new"  # switched
    assert post(partner.events_url, rotation).status_code == 204
    assert post(partner.url, rotation).status_code == 200  # the provisioning endpoint too

    partner.secret = "whsec_someone_else"
    refused = post(partner.events_url, rotation)
    assert refused.status_code == 400
    assert refused.text == "no signature matches the body"
    assert [call.verified for call in partner.calls] == [True, True, True, False]


def test_a_stale_or_malformed_signature_is_refused(partner: PartnerServer) -> None:
    partner.secret = "whsec_new"
    stale = int(time.time()) - 3600
    assert post(partner.events_url, f"t={stale},v1={v1('whsec_new', stale)}").status_code == 400
    assert post(partner.events_url, "v1=abc").status_code == 400
    now = int(time.time())
    twice = f"t={now},t={now},v1={v1('whsec_new', now)}"  # which t was signed?
    assert post(partner.events_url, twice).status_code == 400
    assert partner.verified == []
