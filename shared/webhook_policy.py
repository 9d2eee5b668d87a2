"""Which addresses a webhook may be sent to (SSRF): public ones, and internal ones only if allowed.

Pure: it judges a host and the addresses it resolved to against ``PACER_WEBHOOK_ALLOWED_HOSTS``;
resolving is the caller's job. The ingest asks when a subscription is created, the alerting
service again right before each attempt (a name may resolve elsewhere by then: DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


@dataclass(frozen=True)
class AllowList:
    """``PACER_WEBHOOK_ALLOWED_HOSTS``: host names, addresses and CIDRs trusted though internal."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> AllowList:
        """``"127.0.0.1,alerts.internal,10.0.0.0/8"``; raises ValueError on a malformed entry."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in spec.split(","):
            entry = raw.strip().strip("[]").lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if not _HOST_NAME.fullmatch(entry):
                raise ValueError(f"{raw.strip()!r} is neither a host name nor an address or CIDR")
            hosts.add(entry)
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return normalize_host(host) in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def normalize_host(host: str) -> str:
    """``[::1]`` -> ``::1``, ``Hooks.Example.`` -> ``hooks.example``."""
    return host.strip().strip("[]").lower().rstrip(".")


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, NAT64), else the address itself.

    ``::ffff:127.0.0.1`` reaches 127.0.0.1 on a dual-stack host, so it is judged as that.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def internal_kind(address: IPAddress) -> str | None:
    """Why the address is not a public one ("loopback", "private", ...); None when it is."""
    address = embedded_ipv4(address)
    checks: list[tuple[bool, str]] = [
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "carrier-grade NAT"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (not address.is_global, "not globally routable"),
    ]
    return next((kind for hit, kind in checks if hit), None)


def refusal(host: str, addresses: Iterable[str], allowed: AllowList) -> str | None:
    """Why a webhook to ``host``, which resolved to ``addresses``, must not be sent; None if it
    may. Every address must pass: a name that resolves to one public and one internal address
    would otherwise reach the internal one on some attempts."""
    if allowed.allows_host(host):
        return None
    parsed = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    if not parsed:
        return f"{normalize_host(host)} resolves to no address"
    for address in parsed:
        kind = internal_kind(address)
        if kind is not None and not allowed.allows_address(address):
            return (
                f"{normalize_host(host)} is {address}, a {kind} address; webhooks go to public "
                "addresses only unless PACER_WEBHOOK_ALLOWED_HOSTS lists it"
            )
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address when ``host`` is written as one (no resolution needed), else None."""
    try:
        return ipaddress.ip_address(normalize_host(host))
    except ValueError:
        return None
