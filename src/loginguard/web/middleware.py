from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"  # the JSON API: bearer tokens, no cookies, JSON errors
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


class ApiJsonErrorsMiddleware:
    """Every error under /api/ has the API's shape, {"detail": ...}: including the ones
    Django or django-ninja answer with HTML (405, CSRF, a bad Host, an unexpected 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (request.path.startswith(API_PREFIX) and response.status_code >= 400
                and not response.get("Content-Type", "").startswith("application/json")):
            json_response = JsonResponse({"detail": response.reason_phrase},
                                         status=response.status_code)
            for header in ("Allow", "WWW-Authenticate"):
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response
