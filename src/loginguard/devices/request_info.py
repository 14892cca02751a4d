from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from loginguard.devices.cookie import read_secret
from loginguard.devices.fingerprint import Fingerprint, fingerprint


@dataclass(frozen=True)
class RequestInfo:
    """What services need to know about the browser, read once at the edge."""

    fingerprint: Fingerprint
    user_agent: str
    device_secret: str | None

    @property
    def ip(self) -> str:
        return self.fingerprint.ip

    @classmethod
    def of(cls, request: HttpRequest) -> RequestInfo:
        return cls(fingerprint=fingerprint(request),
                   user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
                   device_secret=read_secret(request))
