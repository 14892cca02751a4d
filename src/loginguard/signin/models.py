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
    # The trusted device this browser signed in as (its name tells sessions apart).
    device = models.ForeignKey("devices.TrustedDevice", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    browser = models.CharField(max_length=64)
    os = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.browser} on {self.os} ({self.ip})"

    @property
    def label(self) -> str:
        """What tells it apart for people: the trusted device's name, else the browser."""
        device = self.device
        return device.name if device is not None else self.browser_label

    @property
    def browser_label(self) -> str:
        return f"{self.browser} on {self.os}"

    @property
    def named(self) -> bool:
        """Its label says more than the browser (a trusted device with a name of its own)."""
        return self.label != self.browser_label


class TrustClaim(models.Model):
    """A pending sign-in's last step, taken once: of several concurrent submits of one
    trust form (or passkey answers), the one whose insert wins signs in; the others find
    its row (the unique challenge) and go on without a second session, device or alert.
    Housekeeping removes rows older than a day."""

    challenge = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"claim of {self.challenge[:8]}…"
