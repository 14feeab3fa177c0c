"""Which addresses agent tools may connect to, checked after DNS and pinned for the connection.

Refused unless ``tools.allow_private_network`` is on or the address lies in
``tools.http_allowed_networks``: loopback, RFC 1918 / ULA private ranges,
link-local, CGNAT (100.64/10), multicast, reserved, unspecified — in short every
address that is not globally routable (``ipaddress``'s ``is_global``), with
IPv4-mapped, 6to4 and Teredo IPv6 forms unwrapped first. Cloud metadata
addresses (169.254.169.254, fd00:ec2::254) are refused even then.

Every hostname is resolved once; *all* its addresses must pass, and the
connection is made to the checked address (``tools.http.PinnedBackend``), so a DNS
answer that changes between check and connect (DNS rebinding) cannot redirect
the request. TLS still verifies the certificate against the hostname.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from orchestra.tools.errors import BlockedAddressError, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) -> IP address strings."""

METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


@dataclass(frozen=True)
class NetworkPolicy:
    allow_private: bool = False
    allowed_networks: tuple[str, ...] = ()

    def check(self, address: str, *, host: str) -> IPAddress:
        """Return the parsed address, or raise ``BlockedAddressError`` naming the rule."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        inner = _unwrap(ip)
        if ip in METADATA_ADDRESSES or inner in METADATA_ADDRESSES:
            raise BlockedAddressError(
                f"{host} resolves to the cloud metadata address {inner}; this is never allowed"
            )
        for net in self.allowed_networks:
            if inner in ipaddress.ip_network(net, strict=False):
                return ip
        if _is_public(inner) or (
            self.allow_private and not inner.is_unspecified and not inner.is_multicast
        ):
            return ip
        raise BlockedAddressError(
            f"{host} resolves to {inner}, a {_kind(inner)} address; agent tools may only reach public "
            "addresses (set tools.allow_private_network or tools.http_allowed_networks to change this)"
        )


def _unwrap(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


def _is_public(ip: IPAddress) -> bool:
    return ip.is_global and not ip.is_multicast and ip not in _CGNAT


def _kind(ip: IPAddress) -> str:
    for attr, label in (
        ("is_loopback", "loopback"),
        ("is_unspecified", "unspecified"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, attr):
            return label
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "carrier-grade NAT"
    return "non-public"


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror}; check the URL") from exc
    return [str(info[4][0]) for info in infos]


async def resolve_checked(
    host: str, port: int, policy: NetworkPolicy, resolver: Resolver | None = None
) -> IPAddress:
    """Resolve ``host`` and return the address to connect to; every answer must pass ``policy``."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    addresses = (
        [str(literal)] if literal is not None else await (resolver or system_resolver)(host, port)
    )
    if not addresses:
        raise FetchError(f"{host} has no addresses")
    checked = [policy.check(a, host=host) for a in addresses]
    return checked[0]


def policy_from(allow_private: bool, allowed_networks: Sequence[str]) -> NetworkPolicy:
    for net in allowed_networks:
        ipaddress.ip_network(net, strict=False)  # fail early on a typo in settings
    return NetworkPolicy(allow_private=allow_private, allowed_networks=tuple(allowed_networks))
