from __future__ import annotations

from django.conf import settings
from django.db import models

from loginguard.audit.events import EventType


class AuditEvent(models.Model):
    event_type = models.CharField(max_length=40, choices=EventType.choices, db_index=True)
    # Who did it (None for the system or an anonymous visitor) and whom it concerns.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    account = models.ForeignKey(
        "tenancy.ClientAccount", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    reseller = models.ForeignKey(
        "tenancy.Reseller", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["subject", "-created_at"], name="audit_subject_time"),
            models.Index(fields=["account", "-created_at"], name="audit_account_time"),
            # The overview's counts (issue 29): one event type of one account over 30 or
            # 90 days is a range of this index.
            models.Index(fields=["account", "event_type", "created_at"],
                         name="audit_account_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.event_type}"


class AlertAnswer(models.Model):
    """A user's answer to an alert on their home page ("This was me" / "This wasn't me"):
    once per event; the answer itself is also an audit row."""

    ME, NOT_ME = "me", "not_me"
    event = models.OneToOneField(AuditEvent, on_delete=models.CASCADE, related_name="answer")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    answer = models.CharField(max_length=8, choices=[(ME, "This was me"),
                                                     (NOT_ME, "This wasn't me")])
    answered_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.answer} for event {self.event_id}"
