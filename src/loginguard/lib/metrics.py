"""Prometheus metrics (prometheus-client), counted in every process and served at
/metrics when METRICS_TOKEN is set (SPEC §13, docs/operations.md "Metrics").

With several processes (`serve --workers N`, `worker`) prometheus-client's multiprocess
mode keeps each process's values in files under PROMETHEUS_MULTIPROC_DIR (settings.py
points it at VAR_DIR/metrics when metrics are on); /metrics adds them up. The email
queue's length and age are read from the database when scraped."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Histogram

SIGNINS = Counter("loginguard_signins", "Sign-in attempts by outcome: trusted (a trusted "
                  "device, no code), code (with an emailed code), refused (wrong "
                  "password or unknown user), locked (refused by a throttle).", ["outcome"])
CODES = Counter("loginguard_codes", "Emailed codes: sent, accepted, failed (wrong code).",
                ["event"])
ALERTS = Counter("loginguard_alerts", "Untrusted-device sign-in alerts queued.")
THROTTLE_LOCKS = Counter("loginguard_throttle_locks", "Attempts refused by a lock: "
                         "password (sign-in backoff) or code (the code step).", ["kind"])
EMAILS = Counter("loginguard_emails", "Emails by state: queued, sent, failed (an attempt "
                 "that did not deliver; it is retried until EMAIL_MAX_ATTEMPTS).",
                 ["kind", "state"])
API_REQUESTS = Counter("loginguard_api_requests", "JSON API requests by status code.",
                       ["status"])
REQUEST_SECONDS = Histogram(
    "loginguard_request_duration_seconds", "Request latency by kind of path (page, api, "
    "forward_auth, health).", ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

# Audit events that are metrics: event type -> (counter, labels).
_BY_EVENT: dict[str, tuple[Any, dict[str, str]]] = {
    "login.failed": (SIGNINS, {"outcome": "refused"}),
    "code.sent": (CODES, {"event": "sent"}),
    "code.verified": (CODES, {"event": "accepted"}),
    "code.failed": (CODES, {"event": "failed"}),
    "code.locked": (THROTTLE_LOCKS, {"kind": "code"}),
    "login.untrusted_device": (ALERTS, {}),
}


def audit_event(event_type: str, extra: Mapping[str, Any]) -> None:
    """Count a committed security event."""
    if event_type == "login.succeeded":
        outcome = "trusted" if extra.get("method") == "trusted_device" else "code"
        SIGNINS.labels(outcome=outcome).inc()
    elif event_type == "login.throttled":
        SIGNINS.labels(outcome="locked").inc()
        THROTTLE_LOCKS.labels(kind="password").inc()
    elif event_type in _BY_EVENT:
        counter, labels = _BY_EVENT[event_type]
        (counter.labels(**labels) if labels else counter).inc()


def request_kind(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path == "/auth/forward":
        return "forward_auth"
    if path in ("/healthz", "/readyz", "/metrics"):
        return "health"
    return "page"


def clean_directory(directory: Path) -> None:
    """At a process's start: drop the files of processes that no longer run (their
    counters reset, which Prometheus' rate() takes in its stride), so the directory does
    not grow with every restart."""
    for path in directory.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exposition() -> tuple[bytes, str]:
    """The text every process's metrics add up to, plus the queue read now."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.core import REGISTRY

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry = REGISTRY
    queue = CollectorRegistry()
    queue.register(QueueCollector())
    return generate_latest(registry) + generate_latest(queue), CONTENT_TYPE_LATEST


class QueueCollector:
    """loginguard_email_queue_length and loginguard_email_queue_oldest_seconds, from the
    database at scrape time (one query)."""

    def collect(self) -> Iterator[Any]:
        from django.db import DatabaseError
        from django.db.models import Count, Min
        from prometheus_client.core import GaugeMetricFamily

        from loginguard.emails.models import EmailStatus, OutgoingEmail
        from loginguard.lib import clock

        try:
            found = OutgoingEmail.objects.filter(
                status__in=[EmailStatus.QUEUED, EmailStatus.SENDING]).aggregate(
                n=Count("id"), oldest=Min("created_at"))
        except DatabaseError:
            return
        oldest = found["oldest"]
        age = (clock.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily("loginguard_email_queue_length",
                                "Emails waiting to be sent.", value=found["n"])
        yield GaugeMetricFamily("loginguard_email_queue_oldest_seconds",
                                "Age of the oldest email waiting to be sent (0: none).",
                                value=max(age, 0.0))
