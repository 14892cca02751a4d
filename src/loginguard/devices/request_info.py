from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from loginguard.devices.cookie import read_secret
from loginguard.devices.fingerprint import Fingerprint, families, fingerprint


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
    def from_parts(cls, ip: str, user_agent: str) -> RequestInfo:
        """The same, rebuilt where no request is at hand (the worker's half of a reset
        request, which the queue hands over as plain values)."""
        browser, os = families(user_agent)
        return cls(fingerprint=Fingerprint(ip=ip, browser=browser, os=os),
                   user_agent=user_agent[:512], device_secret=None)

    @classmethod
    def of(cls, request: HttpRequest) -> RequestInfo:
        return cls(fingerprint=fingerprint(request),
                   user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
                   device_secret=read_secret(request))


# Calls that come from no browser (the CLI, the demo data, tests of a service).
NO_REQUEST = RequestInfo(fingerprint=Fingerprint(ip="", browser="", os=""), user_agent="",
                         device_secret=None)
