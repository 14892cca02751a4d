from __future__ import annotations

from django.conf import settings
from django.db import models


class UserSession(models.Model):
    """A signed-in browser session, so a user (and a password reset) can list and end
    them. Ending one deletes the Django session row, which signs that browser out."""

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="user_sessions"
    )
    ip = models.GenericIPAddressField()
    browser = models.CharField(max_length=64)
    os = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.browser} on {self.os} ({self.ip})"
