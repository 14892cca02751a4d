from __future__ import annotations

import contextlib
import logging
import time
from datetime import datetime, timedelta
from typing import NoReturn
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_tasks import TaskContext, task

from loginguard.emails.models import EmailStatus, OutgoingEmail
from loginguard.lib import metrics

logger = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """This attempt did not deliver the email. Raised after the failure is recorded (and
    the retry queued), so the task queue logs and stores the attempt as failed, never as
    a success."""


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base … capped at one hour."""
    seconds = settings.EMAIL_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, 3600))


class Courier:
    """One SMTP connection kept open across the messages of a burst (connecting and EHLO
    were a fifth of a worker's CPU per email). A connection idle for longer than
    ``IDLE_SECONDS`` is closed and opened afresh; one the server dropped meanwhile gets one
    immediate second try on a new connection before the attempt counts as failed. Any
    change of the mail settings (tests switch backends) opens a new connection."""

    IDLE_SECONDS = 20.0

    def __init__(self) -> None:
        self.connection: BaseEmailBackend | None = None
        self.settings: tuple[object, ...] = ()
        self.last_used = 0.0

    def _current(self) -> tuple[object, ...]:
        return (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT,
                settings.EMAIL_HOST_USER, settings.EMAIL_USE_TLS)

    def _fresh(self) -> BaseEmailBackend:
        self.close()
        connection = get_connection(fail_silently=False)
        connection.open()
        self.connection, self.settings = connection, self._current()
        return connection

    def send(self, message: EmailMultiAlternatives) -> None:
        reused = (self.connection is not None and self.settings == self._current()
                  and time.monotonic() - self.last_used < self.IDLE_SECONDS)
        message.connection = self.connection if reused else self._fresh()
        try:
            message.send(fail_silently=False)
        except Exception:
            if not reused:
                self.close()
                raise
            message.connection = self._fresh()  # the server may have dropped the old one
            try:
                message.send(fail_silently=False)
            except Exception:
                self.close()
                raise
        self.last_used = time.monotonic()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self.connection.close()
        self.connection = None


courier = Courier()


def message_id(email: OutgoingEmail) -> str:
    """The same Message-ID for every delivery of one email row, so a copy sent twice (a
    worker killed between SMTP's DATA and recording it) is recognisable as one message by
    mail clients, and countable. It names the site (BASE_URL's host), not the worker's
    hostname: spam filters compare it with the sender's domain."""
    created = email.created_at.strftime("%Y%m%d%H%M%S%f")
    return f"<loginguard.{email.pk}.{created}@{urlsplit(settings.BASE_URL).hostname}>"


@task(queue_name="email", takes_context=True)
def deliver_email(context: TaskContext, email_id: int) -> str:
    # Claim the row with a conditional update: if two task rows ever point at one email
    # (a duplicate enqueue), only one of them sends it. The claim names the worker, whose
    # beats (ops/beats.py) tell the others whether it is still alive.
    worker_ids = context.task_result.worker_ids
    claimed = OutgoingEmail.objects.filter(pk=email_id, status=EmailStatus.QUEUED).update(
        status=EmailStatus.SENDING, claimed_at=timezone.now(),
        claimed_by=worker_ids[-1][:64] if worker_ids else "",
    )
    if not claimed:
        return "skipped"
    email = OutgoingEmail.objects.get(pk=email_id)
    message = EmailMultiAlternatives(
        subject=email.subject, body=email.body_text, to=[email.to],
        from_email=settings.DEFAULT_FROM_EMAIL, headers={"Message-ID": message_id(email)},
    )
    message.attach_alternative(email.body_html, "text/html")
    try:
        courier.send(message)
    except Exception as exc:  # SMTP errors come in many classes (socket, smtplib, ssl).
        _record_failure(email, exc)
    email.status = EmailStatus.SENT
    email.attempts += 1
    email.sent_at = timezone.now()
    email.last_error = ""
    # A sent message's body may hold a live code or link: the table keeps only who, what
    # kind, status and times.
    email.body_text = email.body_html = ""
    _record_sent(email)
    logger.info("email %s (%s) to %s sent", email.pk, email.kind, email.to)
    metrics.EMAILS.labels(kind=email.kind, state="sent").inc()
    return "sent"


# How long a worker keeps trying to record a delivered email while the database is away.
RECORD_SENT_FOR = 120.0


def _record_sent(email: OutgoingEmail) -> None:
    """Record the delivery. The message has left: if the database is away right now (a
    restart, a failover), giving up would leave the row "sending" and the email would be
    delivered a second time when it is requeued, so keep trying for a while."""
    deadline = time.monotonic() + RECORD_SENT_FOR
    while True:
        try:
            email.save(update_fields=["status", "attempts", "sent_at", "last_error",
                                      "body_text", "body_html"])
            return
        except DatabaseError as exc:
            if time.monotonic() > deadline:
                raise
            logger.warning("email %s was delivered but the database is unavailable to "
                           "record it (%s); trying again in 1 s", email.pk,
                           type(exc).__name__)
            connection.close()  # a broken connection: the next query opens a new one
            time.sleep(1.0)


def _record_failure(email: OutgoingEmail, exc: Exception) -> NoReturn:
    metrics.EMAILS.labels(kind=email.kind, state="failed").inc()
    email.attempts += 1
    email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if email.attempts >= settings.EMAIL_MAX_ATTEMPTS:
        email.status = EmailStatus.FAILED
        email.body_text = email.body_html = ""  # undeliverable: its code or link dies here
        email.save(update_fields=["status", "attempts", "last_error", "body_text",
                                  "body_html"])
        logger.error("email %s (%s) to %s failed for good after %s attempts: %s", email.pk,
                     email.kind, email.to, email.attempts, email.last_error)
        raise DeliveryFailed(f"email {email.pk} failed for good: {email.last_error}")
    email.status = EmailStatus.QUEUED
    email.save(update_fields=["status", "attempts", "last_error"])
    delay = retry_delay(email.attempts)
    deliver_email.using(queue_name="email", run_after=timezone.now() + delay).enqueue(email.pk)
    logger.warning("email %s (%s) to %s failed (attempt %s), retrying in %ss: %s",
                   email.pk, email.kind, email.to, email.attempts,
                   int(delay.total_seconds()), email.last_error)
    raise DeliveryFailed(f"email {email.pk} not delivered (attempt {email.attempts}, "
                         f"retry queued): {email.last_error}")


# Far longer than any send can take (EMAIL_TIMEOUT is 20 s per SMTP step).
STUCK_AFTER = timedelta(minutes=10)


def stuck_emails(now: datetime, live_workers: set[str] | None = None
                 ) -> QuerySet[OutgoingEmail]:
    """Emails a worker claimed and never finished: it was killed, or lost its database,
    between the claim and recording the result. With ``live_workers`` (the ids of workers
    beating now), also every claim by a worker not among them, however recent."""
    cutoff = now - STUCK_AFTER
    stuck = Q(claimed_at__lt=cutoff) | Q(claimed_at__isnull=True, created_at__lt=cutoff)
    if live_workers is not None:
        stuck |= ~Q(claimed_by="") & ~Q(claimed_by__in=live_workers)
    return OutgoingEmail.objects.filter(status=EmailStatus.SENDING).filter(stuck)


def requeue_stuck(now: datetime, live_workers: set[str] | None = None) -> int:
    """Queue each stuck email again (housekeeping, and every worker's beat). If the
    stopped worker had already handed it to SMTP, the recipient gets it twice (with the
    same Message-ID); otherwise it would never arrive."""
    requeued = 0
    for pk in list(stuck_emails(now, live_workers).values_list("pk", flat=True)):
        with transaction.atomic():
            if not stuck_emails(now, live_workers).filter(pk=pk).update(
                    status=EmailStatus.QUEUED, claimed_at=None, claimed_by=""):
                continue  # finished or requeued meanwhile
            deliver_email.using(queue_name="email").enqueue(pk)
        logger.warning("email %s was left sending by a worker that stopped; queued again "
                       "(it may arrive twice if that worker had handed it to SMTP)", pk)
        requeued += 1
    return requeued
