from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from loginguard.apitokens import format as token_format
from loginguard.lib.paths import API_PUBLIC, API_V1_PREFIX

# Sent before the security-headers middleware runs, so it carries its own.
REFUSAL = b'{"detail": "Missing, malformed, revoked or expired token."}'
REFUSAL_HEADERS = {
    "Content-Type": "application/json",
    "WWW-Authenticate": 'Bearer realm="loginguard"',
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class BearerPrecheckMiddleware:
    """Refuses an API request whose Authorization header cannot hold a valid token
    (missing, another scheme, several headers, wrong prefix, length, alphabet or checksum)
    before sessions, routing or the API framework run: a typo or a scan costs almost
    nothing and no query. Well-formed tokens go on to the API's own authentication, which
    looks them up."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if path.startswith(API_V1_PREFIX) and path not in API_PUBLIC:
            header = request.META.get("HTTP_AUTHORIZATION", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token_format.well_formed(token.strip()):
                # Not a line in the error log per refused request: web.logs.DropApiRefusals
                # filters Django's warning; the access log still shows each 401.
                return HttpResponse(REFUSAL, status=401, headers=REFUSAL_HEADERS)
        return self.get_response(request)
