"""Prometheus metrics (prometheus-client), counted in every process and served at
/metrics when METRICS_TOKEN is set (SPEC §13, docs/operations.md "Metrics"). Counting takes
plain strings (an event type, an audit row's ``extra``): nothing here knows the apps.

With several processes (`serve --workers N`, `worker`) prometheus-client's multiprocess
mode keeps each process's values in files under PROMETHEUS_MULTIPROC_DIR (settings.py
points it at VAR_DIR/metrics when metrics are on); /metrics adds them up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Histogram

from loginguard.lib.paths import API_PREFIX, FORWARD_PATH

SIGNINS = Counter("loginguard_signins", "Sign-in attempts by outcome: trusted (a trusted "
                  "device, no code), code (with an emailed code), refused (wrong "
                  "password or unknown user), locked (refused by a throttle).", ["outcome"])
SIGNINS_BY_FACTOR = Counter(
    "loginguard_signins_by_factor", "Completed sign-ins by what passed the second step: "
    "passkey, app, email, recovery_code, or trusted_device (skipped on a trusted device).",
    ["factor"])
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
        # The sign-in decided its outcome (trusted, code) and its factor: counted as said.
        SIGNINS.labels(outcome=str(extra.get("outcome", "code"))).inc()
        SIGNINS_BY_FACTOR.labels(factor=str(extra.get("factor", "email"))).inc()
    elif event_type == "login.throttled":
        SIGNINS.labels(outcome="locked").inc()
        THROTTLE_LOCKS.labels(kind="password").inc()
    elif event_type in _BY_EVENT:
        counter, labels = _BY_EVENT[event_type]
        (counter.labels(**labels) if labels else counter).inc()


def request_kind(path: str) -> str:
    if path.startswith(API_PREFIX):
        return "api"
    if path == FORWARD_PATH:
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


def exposition(*collectors: Any) -> tuple[bytes, str]:
    """The text every process's metrics add up to, plus ``collectors`` read now (the email
    queue's, emails.metrics)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.core import REGISTRY

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry = REGISTRY
    now = CollectorRegistry()
    for collector in collectors:
        now.register(collector)
    return generate_latest(registry) + generate_latest(now), CONTENT_TYPE_LATEST
