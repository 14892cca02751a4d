"""What /auth/forward answers (SPEC §12): 200 with the user's headers, 401 with where to
sign in, 403 with a short reason. No templates: the proxy asks on every request."""

from __future__ import annotations

from collections.abc import Mapping
from email.header import Header
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.html import escape

from loginguard.access.rules import role_of
from loginguard.factors.proofs import phishing_resistant, second_factor
from loginguard.forwardauth import requirements
from loginguard.lib.clientip import peer_is_trusted_proxy
from loginguard.signin.middleware import ENROLL_URL
from loginguard.signin.next_url import MAX_NEXT, safe_next
from loginguard.signin.sessions import enrollment_due, proofs_of
from loginguard.users.models import User

USER_HEADERS = ("X-Auth-User", "X-Auth-User-Id", "X-Auth-Email", "X-Auth-Account",
                "X-Auth-Reseller", "X-Auth-Role")
NONE = "-"  # X-Auth-Account of a reseller user, X-Auth-Reseller of a direct client


def original_url(request: HttpRequest) -> str | None:
    """The URL the browser asked the proxy for: ``X-Original-URL`` (nginx) or
    ``X-Forwarded-Proto`` + ``-Host`` + ``-Uri`` (Traefik, Caddy), read only from a peer
    in TRUSTED_PROXIES (SPEC §2.5): anyone else could name any URL."""
    if not peer_is_trusted_proxy(request):
        return None
    meta = request.META
    url = meta.get("HTTP_X_ORIGINAL_URL", "")
    if not url:
        parts = [meta.get(f"HTTP_X_FORWARDED_{name}", "") for name in ("PROTO", "HOST", "URI")]
        url = f"{parts[0]}://{parts[1]}{parts[2]}" if all(parts) else ""
    return url if 0 < len(url) <= MAX_NEXT else None


def login_url(request: HttpRequest) -> str:
    target = safe_next(original_url(request))
    base = f"{settings.BASE_URL}/login/"
    return f"{base}?next={quote(target, safe='')}" if target else base


def unauthorized(request: HttpRequest, location: str | None = None) -> HttpResponse:
    """401, with ``Location`` naming the sign-in page (nginx turns it into a redirect
    with ``auth_request_set``); the body takes a browser there when a proxy passes the
    answer on as it is (Traefik, Caddy). ``location``: somewhere else to send it (the
    enrolment page of a user who must add a factor first)."""
    location = location or login_url(request)
    link = escape(location)
    response = HttpResponse(
        f'<!doctype html><meta http-equiv="refresh" content="0;url={link}">'
        f'<title>Sign in</title><p><a href="{link}">Sign in to continue</a>',
        status=401, content_type="text/html; charset=utf-8")
    response["Location"] = location
    response["Cache-Control"] = "no-store"
    return response


def refused(reason: str) -> HttpResponse:
    response = HttpResponse(f"Forbidden: {reason}.\n", status=403,
                            content_type="text/plain; charset=utf-8")
    response["X-Auth-Reason"] = reason
    response["Cache-Control"] = "no-store"
    return response


def granted(request: HttpRequest, user: User, session: Mapping[str, Any]) -> HttpResponse:
    """200 with who the user is, when the route's ``X-Auth-Require`` holds; else 403.
    Absent, the header asks nothing more; present, it must be read (or it is a 403)."""
    if enrollment_due(session):  # SPEC §14: nothing else until the factor is added
        return unauthorized(request, f"{settings.BASE_URL}{ENROLL_URL}")
    header = request.META.get("HTTP_X_AUTH_REQUIRE")
    try:
        demanded = requirements.parse(header) if header is not None else []
    except requirements.Unreadable as problem:
        return refused(str(problem))
    proofs = proofs_of(session)
    reason = requirements.unmet(demanded, user=user,
                                fresh_code=second_factor(proofs) is not None,
                                passkey=phishing_resistant(proofs))
    if reason is not None:
        return refused(reason)
    response = HttpResponse(status=200, content_type="text/plain")
    # Never an empty value: a proxy that skips empty auth-response headers (Caddy 2.9 up
    # to the fix for GHSA-7r4p-vjf4-gxv4) would let a client-sent one through. "-": none.
    values = (user.username, str(user.pk), user.email, str(user.account_id or NONE),
              str(user.reseller_id or NONE), role_of(user))
    for name, value in zip(USER_HEADERS, values, strict=True):
        response[name] = header_value(value)
    response["Cache-Control"] = "no-store"
    return response


def header_value(value: str) -> str:
    """ASCII as it is; anything else as an RFC 2047 encoded word (usernames and email
    addresses may be Unicode; a header is bytes)."""
    return value if value.isascii() else Header(value, "utf-8").encode()
