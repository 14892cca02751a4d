from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Callable
from urllib.parse import quote, unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from loginguard.emails.metrics import QueueCollector
from loginguard.lib import metrics
from loginguard.lib.clientip import client_ip, peer_is_trusted_proxy
from loginguard.lib.paths import API_PREFIX
from loginguard.signin.next_url import NEXT_KEY
from loginguard.sso.selectors import authorize_origin
from loginguard.web.health import readyz

DOCS_PATH = "/api/v1/docs"
# The sign-in pages, whose last form may end (through /o/authorize/) in a redirect to the
# app a single sign-on began at (sso.selectors.authorize_origin).
SIGN_IN_PAGES = "/login/"
# What may be added to form-action: a scheme, a host name or IP literal, a port. Nothing
# that could end the directive (";", ",", spaces) ever reaches the header.
FORM_ORIGIN = re.compile(r"https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class HealthCheckMiddleware:
    """Answers /healthz (liveness: the process answers) before sessions, hosts or the
    database are touched: load balancers poll it constantly and it must stay cheap; and
    /readyz (readiness: the database, Redis and the email queue; web/health.py) before
    sessions too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz" and request.method in ("GET", "HEAD"):
            return HttpResponse("ok", content_type="text/plain")
        if request.path == "/readyz" and request.method in ("GET", "HEAD"):
            return readyz(request)
        if request.path == "/metrics" and settings.METRICS_TOKEN:
            return metrics_view(request)
        return self.get_response(request)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """/metrics, only with METRICS_TOKEN set and only for `Authorization: Bearer <it>`
    (Prometheus' `authorization` setting); without the setting the path does not exist."""
    sent = request.META.get("HTTP_AUTHORIZATION", "")
    expected = f"Bearer {settings.METRICS_TOKEN}"
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.exposition(QueueCollector())
    return HttpResponse(body, content_type=content_type)


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
        elif "text/html" in response.get("Content-Type", ""):
            origin = form_origin(request)
            if origin is not None:
                policy = policy.replace("form-action ", f"form-action {origin} ", 1)
        response.headers.setdefault("Content-Security-Policy", policy)
        return response


def form_origin(request: HttpRequest) -> str | None:
    """The one app origin this page's form may end at (browsers apply form-action to every
    redirect after the submit): set by the consent and logout views on their response, or
    the authorization a sign-in page continues. Never the origins of every tenant's apps."""
    origin = getattr(request, "lg_form_action", None)
    if origin is None and request.path.startswith(SIGN_IN_PAGES):
        session = getattr(request, "session", None)
        target = (request.POST.get("next") or request.GET.get("next")
                  or (session.get(NEXT_KEY) if session is not None else None))
        origin = authorize_origin(target)
    return origin if isinstance(origin, str) and FORM_ORIGIN.fullmatch(origin) else None


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


class UntrustedForwardedHeadersMiddleware:
    """``X-Forwarded-Proto`` (which Django's SECURE_PROXY_SSL_HEADER reads to decide that a
    request came over HTTPS) counts only from a peer in TRUSTED_PROXIES: from anyone else
    it is dropped before Django sees it, like X-Forwarded-For (SPEC §2.5)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_X_FORWARDED_PROTO" in request.META and not peer_is_trusted_proxy(request):
            del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)


access_logger = logging.getLogger("loginguard.access")
# Emailed links carry their token in the path (/password/reset/<uid>/<token>/): the
# log keeps the uid and never the token.
LINK_TOKEN = re.compile(r"^(/(?:password/reset|invite)/[^/]+/)(?!set-password/)[^/]+/")
SECRET_PARAMETER = re.compile(r"(?i)^(token|code|password|secret|key|access_token|"
                              r"refresh_token|client_secret|id_token_hint)$")
SAFE_CHARS = "/@:+,;=!$&'()*-._~%[]"  # kept as they are; everything else %-escaped


def loggable_path(request: HttpRequest) -> str:
    """The request's path and query for the log: %-escaped (a CR or LF decoded from %0D%0A
    can never start a forged line), the link token and secret-looking parameters
    redacted."""
    path = LINK_TOKEN.sub(r"\1[redacted]/", request.path)
    line = quote(path, safe=SAFE_CHARS)
    query = request.META.get("QUERY_STRING", "")
    if query:
        pairs = []
        for pair in query.split("&")[:50]:
            name, sep, value = pair.partition("=")
            if SECRET_PARAMETER.match(unquote(name)):
                value = "[redacted]"
            pairs.append(quote(name, safe=SAFE_CHARS) + sep + quote(value, safe=SAFE_CHARS))
        line += "?" + "&".join(pairs)
    return line


class AccessLogMiddleware:
    """One line per request (instead of the HTTP server's own access log, which would
    print link tokens and whatever the path decodes to): client IP, method, path, status,
    duration, user id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "auth", None) or getattr(request, "user", None)
        user_id = getattr(user, "pk", None)
        ip, method, path = client_ip(request), quote(request.method or "", safe=""), \
            loggable_path(request)
        seconds = time.perf_counter() - start
        duration = round(seconds * 1000, 1)
        kind = metrics.request_kind(request.path)
        metrics.REQUEST_SECONDS.labels(kind=kind).observe(seconds)
        if kind == "api":
            metrics.API_REQUESTS.labels(status=str(response.status_code)).inc()
        # The fields again as extras: LOG_FORMAT=json writes them as JSON fields.
        access_logger.info(
            '%s "%s %s" %s %.1fms user=%s', ip, method, path, response.status_code,
            duration, user_id or "-",
            extra={"client_ip": ip, "method": method, "path": path,
                   "status": response.status_code, "duration_ms": duration,
                   "user_id": user_id})
        return response
