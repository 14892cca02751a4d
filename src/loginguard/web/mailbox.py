"""Demo mode only: the messages caught by `loginguard mailsink`, read from its Maildir.
Mounted only when DEV_MAILBOX_DIR is set (``make run``); absent in production."""

from __future__ import annotations

import mailbox
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe


def _maildir() -> mailbox.Maildir:
    if not settings.DEV_MAILBOX_DIR:
        raise Http404
    return mailbox.Maildir(Path(settings.DEV_MAILBOX_DIR), create=True)


def _part(message: Message, content_type: str) -> str:
    for part in message.walk():
        if part.get_content_type() == content_type and not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def _summary(key: str, message: Message) -> dict[str, Any]:
    date = message.get("Date")
    return {
        "key": key,
        "to": message.get("To", ""),
        "subject": message.get("Subject", ""),
        "date": parsedate_to_datetime(date) if date else None,
    }


@require_safe
def mailbox_list(request: HttpRequest) -> HttpResponse:
    box = _maildir()
    messages = sorted(
        (_summary(key, msg) for key, msg in box.items()),
        key=lambda m: (m["date"] is not None, m["date"]), reverse=True,
    )
    return render(request, "web/mailbox_list.html", {"messages_": messages})


@require_safe
def mailbox_detail(request: HttpRequest, key: str) -> HttpResponse:
    box = _maildir()
    try:
        message = box[key]
    except (KeyError, ValueError):
        raise Http404 from None
    return render(request, "web/mailbox_detail.html", {
        "message": _summary(key, message),
        "text": _part(message, "text/plain"),
        "html": _part(message, "text/html"),
        "sender": message.get("From", ""),
    })


@require_safe
@xframe_options_sameorigin
def mailbox_html(request: HttpRequest, key: str) -> HttpResponse:
    """The HTML part alone, for the sandboxed frame on the message's page: no script can
    run (CSP and the frame's sandbox), its inline styles can."""
    box = _maildir()
    try:
        message = box[key]
    except (KeyError, ValueError):
        raise Http404 from None
    response = HttpResponse(_part(message, "text/html"), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; "
        # No script even when opened on its own; same origin so the mailbox page can
        # size the frame to the email.
        "sandbox allow-same-origin")
    return response
