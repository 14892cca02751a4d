from __future__ import annotations

from django.conf import settings
from django.db import models


class CodePurpose(models.TextChoices):
    LOGIN = "login", "Sign-in"
    EMAIL_CHANGE = "email_change", "Email change"


class OneTimeCode(models.Model):
    """An emailed 6-digit code, stored only as an HMAC bound to user, purpose and the
    challenge id that exists only in the pending login's session."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="codes"
    )
    purpose = models.CharField(max_length=20, choices=CodePurpose.choices)
    challenge = models.CharField(max_length=64, db_index=True)
    code_hmac = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    # Set when a resend replaces this code or a password reset revokes it.
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="code_user_time")]

    def __str__(self) -> str:
        return f"{self.purpose} code for user {self.user_id}"
