"""Answers to the alerts on a user's home (issue 29): "This was me" closes the alert;
"This wasn't me" closes it too and sends the user on to change their password, which signs
every other session out and forgets every other trusted device (actions.credentials)."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction

from loginguard.audit.events import ALERT_DAYS, ALERTS, EventType
from loginguard.audit.models import AlertAnswer, AuditEvent
from loginguard.audit.services import Where, audit_log
from loginguard.lib import clock
from loginguard.users.models import User


def alert_answer(*, user: User, event_id: int, answer: str, info: Where) -> AlertAnswer | None:
    """Record the user's answer to one of their own alerts of the last 30 days, once.
    None (nothing changed) for another user's event, an event that is not an alert, an old
    one, an unknown answer, or one answered before."""
    if answer not in (AlertAnswer.ME, AlertAnswer.NOT_ME):
        return None
    event = AuditEvent.objects.filter(
        pk=event_id, subject=user, event_type__in=list(ALERTS),
        created_at__gte=clock.now() - timedelta(days=ALERT_DAYS)).first()
    if event is None:
        return None
    try:
        with transaction.atomic():
            row = AlertAnswer.objects.create(event=event, user=user, answer=answer,
                                             answered_at=clock.now())
            audit_log(event_type=EventType.ALERT_CONFIRMED if answer == AlertAnswer.ME
                      else EventType.ALERT_DENIED, subject=user, actor=user, info=info,
                      extra={"alert": event.pk, "alert_type": event.event_type})
    except IntegrityError:  # answered already (two tabs, a double click)
        return None
    return row
