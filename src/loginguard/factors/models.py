"""The factors beyond the mailbox (SPEC §14): passkeys and security keys, authenticator apps
and recovery codes. None holds a secret that could sign the user in: a passkey's public
key, an app's TOTP secret encrypted at rest, a recovery code's keyed hash."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PasskeyUser(models.Model):
    """The WebAuthn user handle: random, stable per user, never the username or an id
    (what a discoverable credential hands back at a passwordless sign-in)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="passkey_handle")
    handle = models.BinaryField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"passkey handle of user {self.user_id}"


class Passkey(models.Model):
    """A registered WebAuthn credential (a passkey or a security key)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="passkeys")
    name = models.CharField(max_length=64)
    credential_id = models.BinaryField(max_length=1023, unique=True)
    public_key = models.BinaryField(max_length=2048)  # COSE, as the authenticator gave it
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True)
    # WebAuthn's backup flags: eligible ("synced" passkeys) and backed up now.
    backup_eligible = models.BooleanField(default=False)
    backup_state = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"passkey {self.name!r} of user {self.user_id}"

    @property
    def synced(self) -> bool:
        return self.backup_eligible


class AuthenticatorApp(models.Model):
    """A TOTP authenticator app (RFC 6238: 6 digits, 30 s). ``secret`` is encrypted with a
    key derived from SECRET_KEY (factors/totp.py); ``last_step`` is the last time step
    accepted, so each step's code works once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="authenticator_apps")
    name = models.CharField(max_length=64)
    secret = models.TextField()
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"authenticator app {self.name!r} of user {self.user_id}"


class RecoveryCode(models.Model):
    """One of a user's ten single-use recovery codes, stored as a keyed hash."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="recovery_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at"], name="recovery_user_used")]

    def __str__(self) -> str:
        return f"recovery code of user {self.user_id}"


class UsedChallenge(models.Model):
    """A WebAuthn challenge that was answered: single use even when the same answer
    arrives twice at once (the second insert meets the unique index). Housekeeping removes
    rows older than a day (a challenge lives five minutes)."""

    value = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"challenge {self.value[:8]}…"
