from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DOCS_PATH = "/api/v1/docs"


class ContentSecurityPolicyMiddleware:
    """Sends the CSP of SPEC §9 (Django 5.2 has no built-in CSP). Pages carry no inline
    script or style, so the policy can forbid both."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if request.path == DOCS_PATH:
            # Swagger UI (served from our static files) sets element styles inline; its
            # scripts stay 'self' only.
            policy = policy.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
        response.headers.setdefault("Content-Security-Policy", policy)
        return response
