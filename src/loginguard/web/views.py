from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from loginguard.audit.events import ALERT_DAYS
from loginguard.lib.paths import API_PREFIX
from loginguard.overview import queries
from loginguard.security.unlock import is_unlocked
from loginguard.users.http import actor_of
from loginguard.web.health import outage_cause, unavailable


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in home: the user's account at a glance (issue 29). Nothing on it is
    secret, so it needs no unlock; every action on it does."""
    if not request.user.is_authenticated:
        return redirect("login")
    user = actor_of(request)
    return render(request, "web/home.html", {
        "home": queries.home(user), "alert_days": ALERT_DAYS,
        "security_unlocked": is_unlocked(request),
        "overview": user.kind == "reseller" or user.is_client_admin})


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "web/landing.html")


def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Unknown paths under /api/ answer in JSON like the rest of the API."""
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    cause = outage_cause()
    if cause is not None:  # the database or Redis is down: a clear 503, not a 500
        return unavailable(request, cause)
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return render(request, "500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (CSRF): what happened and what to do, in the site's look; the API
    answers in JSON like every other API error."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "CSRF check failed."}, status=403)
    # Every page's URL answers GET (an action's goes to its page), so "reload" is safe.
    return render(request, "csrf_failure.html", {"back_url": request.path or "/"},
                  status=403)
