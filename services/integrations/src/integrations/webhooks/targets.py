"""Where a webhook may be sent: public https addresses only, unless settings allow-list more.

A URL is checked when it is registered and again before every delivery, because a hostname
can resolve to a public address today and to 10.0.0.1 tomorrow (DNS rebinding). The delivery
then connects to the very address that was checked (the hostname travels in ``Host`` and in
TLS SNI), so no second, unchecked lookup happens between the check and the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus

import httpx

from vitrina_kit.problems import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Hostname and port -> every address it resolves to."""

MAX_URL_LENGTH = 2000


class TargetRefused(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "webhook_target_refused"
    title = "Webhooks cannot be sent to this URL"


@dataclass(frozen=True)
class TargetPolicy:
    """What settings allow beyond public https."""

    allow_http: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, *, allow_http: bool, allowed_networks: Sequence[str]) -> TargetPolicy:
        return cls(
            allow_http=allow_http,
            allowed_networks=tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks),
        )

    def permits(self, address: IPAddress) -> bool:
        if any(address in network for network in self.allowed_networks):
            return True
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            # ::ffff:10.0.0.1 reaches 10.0.0.1, and so may 64:ff9b::a00:1 through a NAT64
            # gateway or 2002:a00:1:: through a 6to4 relay: judge the IPv4 address inside.
            return self.permits(embedded)
        if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
            return False  # fec0::/10: deprecated, yet still routed inside some networks
        # is_global is False for private, loopback, link-local (169.254.169.254, the cloud
        # metadata service), unique-local (fc00::/7), shared (100.64/10) and reserved ranges.
        return address.is_global and not address.is_multicast


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052's well-known prefix
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d, and :: and ::1


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4, IPv4-compatible)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class Target:
    """A checked URL and the addresses its host resolved to, all of them permitted."""

    url: httpx.URL
    addresses: tuple[IPAddress, ...]

    def pinned(self) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
        """The URL to request (the first checked address in place of the host), the ``Host``
        header and the request extensions that keep TLS verifying the real hostname."""
        address = self.addresses[0]
        url = self.url.copy_with(host=str(address))
        host = self.url.host if self.url.port is None else f"{self.url.host}:{self.url.port}"
        extensions = {"sni_hostname": self.url.host} if self.url.scheme == "https" else {}
        return url, {"Host": host}, extensions


def check_url(url: str, policy: TargetPolicy) -> httpx.URL:
    """The URL's shape: scheme, host, no credentials; raises :class:`TargetRefused`."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise TargetRefused(f"Not a URL: {error}.") from None
    allowed_schemes = ("https", "http") if policy.allow_http else ("https",)
    if parsed.scheme not in allowed_schemes:
        raise TargetRefused("Webhook URLs must use https.")
    if not parsed.host:
        raise TargetRefused("The URL has no host.")
    if parsed.userinfo:
        raise TargetRefused("Credentials in the URL are not accepted; the signature is the proof.")
    if parsed.fragment:
        raise TargetRefused("A URL fragment is never sent; leave it out.")
    return parsed


async def system_resolver(host: str, port: int) -> Sequence[IPAddress]:
    """Every address the system's resolver gives for ``host``."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise TargetRefused(f"The host {host!r} does not resolve: {error.strerror}.") from None
    # The scope id of a link-local IPv6 answer ("fe80::1%eth0") is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def resolve(
    url: str, policy: TargetPolicy, *, resolver: Resolver = system_resolver
) -> Target:
    """Check ``url`` and every address its host resolves to; raise :class:`TargetRefused`."""
    parsed = check_url(url, policy)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses: Sequence[IPAddress] = [ipaddress.ip_address(parsed.host)]
    except ValueError:
        addresses = await resolver(parsed.host, port)
    if not addresses:
        raise TargetRefused(f"The host {parsed.host!r} resolves to no address.")
    # Every address, not just the first: a client may connect to any of them.
    refused = sorted({str(a) for a in addresses if not policy.permits(a)})
    if refused:
        raise TargetRefused(
            f"The host {parsed.host!r} resolves to {', '.join(refused)}: private, loopback, "
            "link-local and other non-public addresses are not webhook targets."
        )
    return Target(url=parsed, addresses=tuple(dict.fromkeys(addresses)))
