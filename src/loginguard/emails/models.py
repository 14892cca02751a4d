from __future__ import annotations

from django.db import models


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutgoingEmail(models.Model):
    """One rendered message and its delivery state. The row is written in the same
    transaction as the change that caused it; the worker delivers it after commit and
    records every failure, so nothing is dropped silently."""

    kind = models.CharField(max_length=40, db_index=True)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField()
    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a worker took it to send: one still "sending" long after this was being sent by
    # a worker that stopped (killed, or its database went away) and is queued again.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Which worker took it (django-tasks' worker id): a claim by a worker that stopped
    # beating (ops.WorkerBeat) is queued again within seconds instead of after STUCK_AFTER.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"
