"""Rendering and queueing. ``queue_email`` is the only way an email leaves loginguard."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from loginguard.emails.models import OutgoingEmail
from loginguard.lib import clock, metrics


def render_email(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    base = f"emails/{kind}"
    ctx = {"base_url": settings.BASE_URL, "now": clock.now(), **context}
    subject = " ".join(render_to_string(f"{base}.subject.txt", ctx).split())
    text = render_to_string(f"{base}.txt", ctx)
    html = render_to_string(f"{base}.html", ctx)
    return subject, text, html


def queue_email(*, kind: str, to: str, context: dict[str, Any]) -> OutgoingEmail:
    """Render and queue one message. The task row is written in the caller's transaction
    (database-backed queue), so the worker sees it only once the change commits, and a
    rolled-back change sends nothing. The caller never waits for SMTP."""
    from loginguard.emails.tasks import deliver_email

    subject, text, html = render_email(kind, context)
    email = OutgoingEmail.objects.create(
        kind=kind, to=to, subject=subject, body_text=text, body_html=html
    )
    deliver_email.using(queue_name="email").enqueue(email.pk)
    transaction.on_commit(lambda: metrics.EMAILS.labels(kind=kind, state="queued").inc())
    return email
