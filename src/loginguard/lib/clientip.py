"""SPEC §2.5: the client IP is REMOTE_ADDR unless the peer is a trusted proxy; then the
right-most X-Forwarded-For entry that is not itself a trusted proxy. Nothing else is
read: a header a client sets itself must never choose the IP that device trust,
throttles and the audit log see."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_FORWARDED_HOPS = 32  # a longer header is garbage, not a path through proxies


def _parse(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress) -> bool:
    return any(address in network for network in settings.TRUSTED_PROXIES)


def peer_is_trusted_proxy(request: HttpRequest) -> bool:
    """The TCP peer (REMOTE_ADDR) is one of TRUSTED_PROXIES."""
    if not settings.TRUSTED_PROXIES:
        return False
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and _trusted(peer)


def client_ip(request: HttpRequest) -> str:
    cached = getattr(request, "_loginguard_client_ip", None)
    if cached is not None:
        return str(cached)
    remote = _parse(request.META.get("REMOTE_ADDR", "")) or ipaddress.ip_address("0.0.0.0")  # noqa: S104
    result: IPAddress = remote
    if settings.TRUSTED_PROXIES and _trusted(remote):
        hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(hops) <= MAX_FORWARDED_HOPS:
            for hop in reversed(hops):
                address = _parse(hop)
                if address is None:
                    break  # garbage: stop trusting the chain, keep the last good answer
                result = address
                if not _trusted(address):
                    break
    request._loginguard_client_ip = str(result)  # type: ignore[attr-defined]
    return str(result)
