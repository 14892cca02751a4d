"""What the workers delete on their own (SPEC §13), and ``loginguard housekeeping``.

Each sweep is a query for rows nobody needs any more; a run deletes them in batches (short
transactions on big tables) and is idempotent: a second run, or two workers at once,
finds nothing left. The periodic run is claimed through ``PeriodicJob`` so several
workers do it once an interval, not once each."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from loginguard.audit.models import AuditEvent
from loginguard.codes.models import OneTimeCode
from loginguard.emails.models import EmailStatus, OutgoingEmail
from loginguard.emails.tasks import requeue_stuck, stuck_emails
from loginguard.factors.models import UsedChallenge
from loginguard.lib import clock
from loginguard.ops.beats import FORGET_AFTER, live_workers
from loginguard.ops.models import PeriodicJob, WorkerBeat
from loginguard.signin.models import TrustClaim, UserSession
from loginguard.signin.sessions import ABSOLUTE_LIFETIME, IDLE_TIMEOUT, SEEN_RESOLUTION
from loginguard.sso.models import Authorization, BackchannelLogout, LogoutStatus
from loginguard.throttle.models import Counter
from loginguard.users.models import EmailChange

logger = logging.getLogger("loginguard.housekeeping")
JOB = "housekeeping"
BATCH = 2000
TASK_RESULT_AGE = timedelta(days=14)       # finished queue entries (sent email tasks...)
EMAIL_CHANGE_AGE = timedelta(days=14)      # an email change nobody finished lapses
COUNTER_IDLE = timedelta(days=30)          # throttle counters untouched this long


@dataclass(frozen=True)
class Sweep:
    name: str
    what: str  # for people: what goes, and why it may
    rows: Callable[[datetime], QuerySet]
    clear_bodies: bool = False  # update (blank the bodies) instead of delete


def _sessions(now: datetime) -> QuerySet:
    # Django's own expiry clock (the store's), like `clearsessions`.
    return Session.objects.filter(expire_date__lt=timezone.now())


def _user_sessions(now: datetime) -> QuerySet:
    # An idle session's row goes too (its Django session is refused at its next request
    # anyway): removing the row is what ends its apps' tokens (sso.sessions).
    return UserSession.objects.filter(
        Q(created_at__lt=now - ABSOLUTE_LIFETIME)
        | Q(last_seen_at__lt=now - IDLE_TIMEOUT - SEEN_RESOLUTION)
        | ~Q(session_key__in=Session.objects.values("session_key")))


def _codes(now: datetime) -> QuerySet:
    return OneTimeCode.objects.filter(expires_at__lt=now)


def _email_changes(now: datetime) -> QuerySet:
    return EmailChange.objects.filter(created_at__lt=now - EMAIL_CHANGE_AGE)


def _counters(now: datetime) -> QuerySet:
    return Counter.objects.filter(window_started_at__lt=now - COUNTER_IDLE).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now))


def _trust_claims(now: datetime) -> QuerySet:
    # A claim only matters while its pending sign-in could be submitted (10 minutes).
    return TrustClaim.objects.filter(created_at__lt=now - timedelta(days=1))


def _passkey_challenges(now: datetime) -> QuerySet:
    # A challenge lives five minutes; its "answered" mark is kept a day.
    return UsedChallenge.objects.filter(created_at__lt=now - timedelta(days=1))


def _email_bodies(now: datetime) -> QuerySet:
    return OutgoingEmail.objects.filter(
        status__in=[EmailStatus.SENT, EmailStatus.FAILED]).exclude(body_text="", body_html="")


def _task_results(now: datetime) -> QuerySet:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.finished().filter(finished_at__lt=now - TASK_RESULT_AGE)


def _worker_beats(now: datetime) -> QuerySet:
    return WorkerBeat.objects.filter(beat_at__lt=now - FORGET_AFTER)


def _audit(now: datetime) -> QuerySet:
    return AuditEvent.objects.filter(
        created_at__lt=now - timedelta(days=settings.AUDIT_RETENTION_DAYS))


def _sso_codes(now: datetime) -> QuerySet:
    from oauth2_provider.models import Grant

    return Grant.objects.filter(expires__lt=now)


def _sso_authorizations(now: datetime) -> QuerySet:
    return Authorization.objects.filter(
        Q(ended_at__lt=now - timedelta(days=1))
        | Q(family__isnull=True, created_at__lt=now - timedelta(hours=1)))


def _sso_access_tokens(now: datetime) -> QuerySet:
    from oauth2_provider.models import AccessToken

    # Past their 10 minutes and past the 12 hours a refresh token of theirs could live.
    return AccessToken.objects.filter(expires__lt=now - timedelta(hours=13))


def _sso_refresh_tokens(now: datetime) -> QuerySet:
    from oauth2_provider.models import RefreshToken

    return RefreshToken.objects.filter(Q(revoked__lt=now - timedelta(days=1))
                                       | Q(revoked__isnull=True, access_token__isnull=True))


def _sso_id_tokens(now: datetime) -> QuerySet:
    from oauth2_provider.models import IDToken

    return IDToken.objects.filter(expires__lt=now - timedelta(days=1))


def _sso_logouts(now: datetime) -> QuerySet:
    return BackchannelLogout.objects.filter(
        status__in=[LogoutStatus.SENT, LogoutStatus.FAILED],
        created_at__lt=now - timedelta(days=30))


SWEEPS = [
    Sweep("sessions", "expired sessions (and the pending sign-ins in them)", _sessions),
    Sweep("user_sessions", "session list entries whose session ended, sat idle 60 minutes "
          "or is 12 hours old (their apps are logged out)",
          _user_sessions),
    Sweep("codes", "emailed codes past their 10 minutes", _codes),
    Sweep("email_changes", "email changes not finished within 14 days", _email_changes),
    Sweep("throttle_counters", "throttle counters untouched for 30 days, not locked",
          _counters),
    Sweep("trust_claims", "marks of sign-ins finished a day ago", _trust_claims),
    Sweep("passkey_challenges", "marks of passkey challenges answered a day ago",
          _passkey_challenges),
    Sweep("email_bodies", "bodies (codes, links) of sent or failed emails",
          _email_bodies, clear_bodies=True),
    Sweep("task_results", "finished queue entries older than 14 days", _task_results),
    Sweep("worker_beats", "signs of life of workers gone for a day", _worker_beats),
    Sweep("sso_codes", "single sign-on codes past their 60 seconds", _sso_codes),
    Sweep("sso_authorizations", "apps' sign-ins ended a day ago, or never exchanged",
          _sso_authorizations),
    Sweep("sso_access_tokens", "app access tokens expired 13 hours ago", _sso_access_tokens),
    Sweep("sso_refresh_tokens", "app refresh tokens revoked a day ago (or orphaned)",
          _sso_refresh_tokens),
    Sweep("sso_id_tokens", "ID token records expired a day ago", _sso_id_tokens),
    Sweep("sso_logouts", "back-channel logouts delivered or given up 30 days ago",
          _sso_logouts),
    Sweep("audit", "security log rows older than AUDIT_RETENTION_DAYS", _audit),
]


def preview(now: datetime | None = None) -> dict[str, int]:
    """How many rows each sweep would delete (or clear), and how many stuck emails would
    be queued again, now."""
    now = now or clock.now()
    return {**{sweep.name: sweep.rows(now).count() for sweep in SWEEPS},
            "stuck_emails_requeued": stuck_emails(now, live_workers(now)).count()}


def run(now: datetime | None = None) -> dict[str, int]:
    """Delete (or clear) what each sweep finds, in batches; how many rows each touched."""
    now = now or clock.now()
    done: dict[str, int] = {}
    for sweep in SWEEPS:
        total = 0
        while True:
            pks = list(sweep.rows(now).values_list("pk", flat=True)[:BATCH])
            if not pks:
                break
            model = sweep.rows(now).model
            with transaction.atomic():
                if sweep.clear_bodies:
                    total += model.objects.filter(pk__in=pks).update(body_text="",
                                                                     body_html="")
                else:
                    total += model.objects.filter(pk__in=pks).delete()[0]
            if len(pks) < BATCH:
                break
        done[sweep.name] = total

    done["stuck_emails_requeued"] = requeue_stuck(now, live_workers(now))
    logger.info("housekeeping: %s", ", ".join(f"{k} {v}" for k, v in done.items()))
    return done


def claim(interval: timedelta, worker: str) -> bool:
    """Whether this worker is the one to run the job now (it moves the due time first)."""
    now = clock.now()
    # get_or_create handles two workers creating the row at once (Django retries the get).
    PeriodicJob.objects.get_or_create(name=JOB, defaults={"next_run_at": now})
    return PeriodicJob.objects.filter(name=JOB, next_run_at__lte=now).update(
        next_run_at=now + interval, last_run_by=worker[:64]) == 1


def record_result(result: dict[str, int]) -> None:
    PeriodicJob.objects.filter(name=JOB).update(
        last_result=", ".join(f"{k} {v}" for k, v in result.items()))


def start_periodic(interval: timedelta, check_every: float = 60.0) -> threading.Thread:
    """In a worker: a thread that runs housekeeping when it is due (at most once an
    interval across every worker). Errors are logged and retried at the next check."""
    worker = f"{socket.gethostname()}:{os.getpid()}"

    def loop() -> None:
        while True:
            try:
                close_old_connections()
                if claim(interval, worker):
                    record_result(run())
            except DatabaseError as exc:
                logger.warning("housekeeping skipped: database unavailable (%s)",
                               type(exc).__name__)
            time.sleep(check_every)

    thread = threading.Thread(target=loop, name="housekeeping", daemon=True)
    thread.start()
    return thread
