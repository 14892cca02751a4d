"""Which URIs an app may register, and where the worker may send a logout token
(issue 25, finding 2: blind SSRF from the worker).

Through the pages (and any future API), an app's back-channel logout URI is ``https`` to a
host that resolves to public addresses only, and its redirect URIs likewise, except the
loopback redirects of native apps (``http://127.0.0.1:PORT/…``, ``http://[::1]:PORT/…``,
RFC 8252 §7.3), which the browser follows on the user's own machine. Only the operator's
CLI may register private, loopback or link-local addresses, and only with an explicit flag
(``create_client --allow-private-addresses``), which the client keeps. The worker resolves
the host again when it delivers and connects to the address it checked, so a name that
later resolves elsewhere (DNS rebinding) gets nowhere."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

REDIRECT = "redirect URI"
BACKCHANNEL = "back-channel logout URI"
NATIVE_LOOPBACK = ("127.0.0.1", "::1")
OPERATOR_LOOPBACK = ("127.0.0.1", "localhost", "::1")
HOST_NAME = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*"
                       r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?", re.IGNORECASE)


class Unreachable(OSError):
    """The host resolves to nothing, or to an address the app may not be sent to."""


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to now (an IP literal is itself)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def is_public(address: str) -> bool:
    """A globally routable unicast address: not private, loopback, link-local (cloud
    metadata at 169.254.169.254), shared, reserved or multicast; an IPv4 address mapped
    into IPv6 is judged as itself."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def public_addresses(host: str) -> list[str]:
    """The addresses of ``host``; raises ``Unreachable`` when there are none or any is
    not public (a name with one private address is refused whole)."""
    addresses = resolve(host)
    if not addresses:
        raise Unreachable(f"{host} does not resolve")
    if not all(is_public(address) for address in addresses):
        raise Unreachable(f"{host} resolves to an address that is not public")
    return addresses


def _parsed(uri: str) -> SplitResult | None:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return None
    host = parts.hostname or ""
    if (not host or parts.fragment or "@" in parts.netloc or len(uri) > 2000
            or not uri.isascii() or not uri.isprintable() or " " in uri):
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not HOST_NAME.fullmatch(host):
            return None
    return parts


def uri_checked(value: object, what: str, *, allow_private: bool = False) -> str:
    """``value`` when an app may register it as ``what``; else a ValidationError that
    says what is accepted. ``allow_private``: the operator's CLI flag."""
    uri = value.strip() if isinstance(value, str) else ""
    parts = _parsed(uri)
    check = _operator_problem if allow_private else _tenant_problem
    problem = check(parts, what)
    if problem:
        raise ValidationError(f"{uri[:100]!r} is not a usable {what}: {problem}")
    return uri


def _operator_problem(parts: SplitResult | None, what: str) -> str | None:
    """The operator's rule: https, or http where the cookies are (SECURE_COOKIES off), for
    a back-channel URI on this machine, or a native app's loopback redirect; any
    address."""
    schemes = ("https",) if settings.SECURE_COOKIES else ("http", "https")
    if parts is not None and parts.scheme == "http" and (
            (what == BACKCHANNEL and parts.hostname in OPERATOR_LOOPBACK)
            or (what == REDIRECT and parts.hostname in NATIVE_LOOPBACK)):
        schemes = ("http", "https")
    if parts is None or parts.scheme not in schemes:
        return (f"give an absolute {' or '.join(s + '://' for s in schemes)} URL without a "
                "#fragment.")
    return None


def _tenant_problem(parts: SplitResult | None, what: str) -> str | None:
    if parts is None:
        return "give an absolute https:// URL without a #fragment or user name."
    host = parts.hostname or ""
    if what == REDIRECT and parts.scheme == "http" and host in NATIVE_LOOPBACK:
        return None  # a native app's loopback redirect (RFC 8252 §7.3)
    if parts.scheme != "https":
        loopback = " (or http://127.0.0.1:PORT/… for a native app)" if what == REDIRECT else ""
        return f"use https://{loopback}."
    try:
        public_addresses(host)
    except Unreachable as problem:
        return (f"{problem}. Apps registered here must be reachable on the public "
                "internet; ask the operator to register internal apps.")
    return None
