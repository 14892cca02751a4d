"""Liveness (`/healthz`) and readiness (`/readyz`) for load balancers, and what a page
answers while a part it needs is down (SPEC §13).

`/readyz` asks each part once: the database (`SELECT 1`), Redis when `REDIS_URL` is set
(`PING`), and the email queue (the age of the oldest message not yet sent, against
`READYZ_EMAIL_QUEUE_MAX_AGE`). It answers 200 or 503 with each part's state in JSON,
naming what failed and never why in detail (no host names, no credentials)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import timedelta

import redis
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from loginguard.emails.models import EmailStatus, OutgoingEmail
from loginguard.lib import clock
from loginguard.lib.paths import API_PREFIX
from loginguard.throttle.counters import RedisStore, store
from loginguard.web.browser import COOKIE_FREE

logger = logging.getLogger("loginguard.health")
RETRY_AFTER = 30  # seconds: how long a client should wait before trying again


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return "unreachable"
    return None


def _redis() -> str | None:
    current = store()
    if not isinstance(current, RedisStore):
        return None
    try:
        current.redis.ping()
    except redis.RedisError:
        return "unreachable"
    return None


def _email_queue() -> str | None:
    limit = settings.READYZ_EMAIL_QUEUE_MAX_AGE
    if not limit:
        return None
    try:
        oldest = (OutgoingEmail.objects.filter(status__in=[EmailStatus.QUEUED,
                                                           EmailStatus.SENDING])
                  .order_by("created_at").values_list("created_at", flat=True).first())
    except DatabaseError:
        return "unknown (database unreachable)"
    if oldest is None:
        return None
    age = clock.now() - oldest
    if age > timedelta(seconds=limit):
        return f"oldest unsent message is {int(age.total_seconds())} s old (limit {limit} s)"
    return None


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": _database, "redis": _redis, "email_queue": _email_queue}


def readiness() -> tuple[bool, dict[str, str]]:
    """Whether every part is ready, and each part's state ("ok", "not configured", or
    what is wrong)."""
    states: dict[str, str] = {}
    for name, check in CHECKS.items():
        if name == "redis" and not settings.REDIS_URL:
            states[name] = "not configured"
            continue
        problem = check()
        states[name] = problem or "ok"
    ready = all(state in ("ok", "not configured") for state in states.values())
    if not ready:
        logger.warning("not ready: %s", ", ".join(f"{k} {v}" for k, v in states.items()
                                                   if v not in ("ok", "not configured")))
    return ready, states


def readyz(request: HttpRequest) -> HttpResponse:
    ready, states = readiness()
    response = JsonResponse({"status": "ready" if ready else "not ready", "checks": states},
                            status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER)
    return response


def outage_cause() -> str | None:
    """The part that is down, when the exception being handled says so (called from the
    500 handler, inside Django's ``except``): "database" or "redis", else None."""
    exc = sys.exc_info()[1]
    # SQLite's "database is locked" is an OperationalError too: a busy moment, also a 503.
    if isinstance(exc, InterfaceError | OperationalError):
        return "database"
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return "redis"
    return None


def unavailable(request: HttpRequest, cause: str) -> HttpResponse:
    """503 with Retry-After: a page for people, JSON under /api/ — never a 500, and never
    a sign-in or a throttle decision made without the part that keeps its rules."""
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse(
            {"detail": "Temporarily unavailable: try again in a moment."}, status=503)
    elif request.path.startswith(COOKIE_FREE):  # the OpenID Connect endpoints apps call
        response = JsonResponse({"error": "temporarily_unavailable", "error_description":
                                 "Try again in a moment."}, status=503)
    else:
        # Rendered without the request: its user and session may live in the very
        # database that is down.
        response = HttpResponse(render_to_string("503.html", {"retry_after": RETRY_AFTER}),
                                status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    logger.error("answered 503: the %s is unreachable", cause)
    return response
