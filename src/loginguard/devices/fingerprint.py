"""The help page's device: IP address + browser + operating system (SPEC §2.2).

Browser and OS are families from ua-parser ("Chrome", "Windows"), not versions, so a
browser update does not break trust. The fingerprint alone never grants trust; it only
narrows a device secret to the place it was trusted from."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from django.http import HttpRequest
from ua_parser import parse

from loginguard.lib.clientip import client_ip

MAX_UA = 512


@dataclass(frozen=True)
class Fingerprint:
    ip: str
    browser: str
    os: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Fingerprint | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(ip=str(data["ip"]), browser=str(data["browser"]), os=str(data["os"]))
        except KeyError:
            return None

    @property
    def label(self) -> str:
        return f"{self.browser} on {self.os}"


@lru_cache(maxsize=1024)
def families(user_agent: str) -> tuple[str, str]:
    result = parse(user_agent[:MAX_UA])
    browser = result.user_agent.family if result.user_agent else "Other"
    os = result.os.family if result.os else "Other"
    return browser, os


def fingerprint(request: HttpRequest) -> Fingerprint:
    browser, os = families(request.META.get("HTTP_USER_AGENT", ""))
    return Fingerprint(ip=client_ip(request), browser=browser, os=os)


def ip_matches(policy: str, trusted_ip: str, ip: str) -> bool:
    """``exact``: same address; ``network``: same IPv4 /24 or IPv6 /64; ``off``: any."""
    if policy == "off":
        return True
    if policy == "network":
        try:
            a, b = ipaddress.ip_address(trusted_ip), ipaddress.ip_address(ip)
        except ValueError:
            return False
        if a.version != b.version:
            return False
        prefix = 24 if a.version == 4 else 64
        return ipaddress.ip_network(f"{a}/{prefix}", strict=False) == \
            ipaddress.ip_network(f"{b}/{prefix}", strict=False)
    return trusted_ip == ip


def same_device(policy: str, trusted: Fingerprint, current: Fingerprint) -> bool:
    return (trusted.browser == current.browser and trusted.os == current.os
            and ip_matches(policy, trusted.ip, current.ip))
