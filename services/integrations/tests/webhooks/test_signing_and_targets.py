"""The signature scheme and the target rules, as plain functions."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from integrations.webhooks.domain import RetrySchedule
from integrations.webhooks.signing import InvalidSignature, signature_header, verify
from integrations.webhooks.targets import (
    IPAddress,
    Resolver,
    TargetPolicy,
    TargetRefused,
    resolve,
)

SECRET = "whsec_partner-secret"
BODY = '{"id":"7","type":"subscription.activated","data":{"name":"ООО «Ромашка»"}}'.encode()
NOW = 1_790_000_000


def test_a_genuine_signature_verifies() -> None:
    header = signature_header(SECRET, BODY, timestamp=NOW)
    assert verify(SECRET, BODY, header, now=NOW + 10) == NOW


@pytest.mark.parametrize(
    "header",
    [
        signature_header("whsec_another", BODY, timestamp=NOW),  # forged: wrong secret
        signature_header(SECRET, BODY + b" ", timestamp=NOW),  # another body
        signature_header(SECRET, BODY, timestamp=NOW - 301),  # stale: outside the window
        signature_header(SECRET, BODY, timestamp=NOW + 301),  # from the future
        f"t={NOW + 1},v1=" + signature_header(SECRET, BODY, timestamp=NOW).split("v1=")[1],
        "v1=deadbeef",
        "",
    ],
)
def test_forged_stale_or_malformed_signatures_are_refused(header: str) -> None:
    with pytest.raises(InvalidSignature):
        verify(SECRET, BODY, header, now=NOW)


def test_any_of_several_signatures_may_match_during_a_rotation() -> None:
    old = signature_header("whsec_old", BODY, timestamp=NOW)
    new = signature_header(SECRET, BODY, timestamp=NOW).split(",")[1]
    assert verify(SECRET, BODY, f"{old},{new}", now=NOW) == NOW


def test_the_schedule_gives_up_after_its_last_wait() -> None:
    schedule = RetrySchedule.parse("1m,5m,30m,2h,6h,12h")
    start = datetime(2026, 12, 1, 12, 0).astimezone()
    assert schedule.attempts == 7
    assert schedule.next_attempt_at(1, now=start) == start + timedelta(minutes=1)
    assert schedule.next_attempt_at(6, now=start) == start + timedelta(hours=12)
    assert schedule.next_attempt_at(7, now=start) is None


def fixed(*addresses: str) -> Resolver:
    """A DNS answer of the test's choosing (no network, no hosts file to edit)."""

    async def resolver(host: str, port: int) -> Sequence[IPAddress]:
        return [ipaddress.ip_address(a) for a in addresses]

    return resolver


async def test_a_hostname_resolving_to_a_private_address_is_refused() -> None:
    with pytest.raises(TargetRefused, match=re.escape("10.1.2.3")):
        await resolve("https://hooks.partner.example/", TargetPolicy(), resolver=fixed("10.1.2.3"))


async def test_every_address_is_checked_not_only_the_first() -> None:
    resolver = fixed("93.184.215.14", "169.254.169.254")
    with pytest.raises(TargetRefused, match=re.escape("169.254.169.254")):
        await resolve("https://hooks.partner.example/", TargetPolicy(), resolver=resolver)


async def test_a_public_host_is_pinned_to_the_address_checked() -> None:
    target = await resolve(
        "https://hooks.partner.example:8443/vitrina?x=1",
        TargetPolicy(),
        resolver=fixed("93.184.215.14"),
    )
    url, host, extensions = target.pinned()
    assert str(url) == "https://93.184.215.14:8443/vitrina?x=1"
    assert host == {"Host": "hooks.partner.example:8443"}
    assert extensions == {"sni_hostname": "hooks.partner.example"}


async def test_an_allow_listed_network_is_accepted() -> None:
    policy = TargetPolicy.of(allow_http=True, allowed_networks=["10.20.0.0/16"])
    target = await resolve("http://10.20.1.5:9000/hooks", policy)
    assert target.addresses == (ipaddress.ip_address("10.20.1.5"),)
    with pytest.raises(TargetRefused):
        await resolve("http://10.21.1.5/hooks", policy)
