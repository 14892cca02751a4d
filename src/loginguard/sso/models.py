"""What loginguard adds to django-oauth-toolkit's clients and tokens (SPEC §11): the
tenant a client belongs to, the sign-in each token family came from, consents, and the
back-channel logouts owed to apps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.settings import oauth2_settings


class Client(models.Model):
    """loginguard's side of a registered app (the toolkit's Application). ``account``
    None: a platform-wide client the operator registered (no consent screen); set: a
    client of that account only, whose users are asked once for consent."""

    application = models.OneToOneField(oauth2_settings.APPLICATION_MODEL,
                                       on_delete=models.CASCADE, related_name="loginguard")
    account = models.ForeignKey("tenancy.ClientAccount", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="sso_clients")
    backchannel_logout_uri = models.URLField(max_length=2000, blank=True)
    # Set only by the operator's `create_client --allow-private-addresses`: its URIs may
    # point at private, loopback or link-local addresses (sso.uris).
    allow_private_addresses = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return str(self.application.name)


class Subject(models.Model):
    """The user's ``sub``: random, stable, never the username or the database id."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="sso_subject")
    sub = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.sub}"


class Authorization(models.Model):
    """One authorization code, then the token family it was exchanged for, tied to the
    signed-in session it was issued in. When that session ends (for any reason), the
    family is revoked and the app told (``sso.sessions``)."""

    code_checksum = models.CharField(max_length=64, unique=True)
    family = models.UUIDField(null=True, blank=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="sso_authorizations")
    application = models.ForeignKey(oauth2_settings.APPLICATION_MODEL,
                                     on_delete=models.CASCADE, related_name="+")
    # The UserSession row's id (not a foreign key: the row goes when the session ends,
    # and this row must outlive it to be ended).
    session_ref = models.BigIntegerField(db_index=True)
    sid = models.CharField(max_length=64)
    auth_time = models.DateTimeField()
    amr = models.CharField(max_length=32)  # space-separated RFC 8176 values
    acr = models.CharField(max_length=64)
    scope = models.TextField()
    # Read once at authorization, so the token and userinfo endpoints need no more reads:
    # whether the address the user had then was confirmed.
    email = models.EmailField(max_length=254)
    email_verified = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField()
    # Set by the one exchange of the code that wins (a conditional update): concurrent
    # or later uses of the same code get nothing.
    exchanged_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.application_id} for {self.user_id} in session {self.session_ref}"


class Consent(models.Model):
    """A user's yes to an account client for a set of scopes (asked once per set)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    application = models.ForeignKey(oauth2_settings.APPLICATION_MODEL,
                                    on_delete=models.CASCADE, related_name="+")
    scope = models.TextField()  # sorted, space-separated
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "application", "scope"],
                                               name="sso_consent_once")]

    def __str__(self) -> str:
        return f"{self.user_id} allows {self.application_id}: {self.scope}"


class LogoutStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Delivered"
    FAILED = "failed", "Failed"


class BackchannelLogout(models.Model):
    """A logout token owed to an app (OpenID Connect Back-Channel Logout 1.0)."""

    application = models.ForeignKey(oauth2_settings.APPLICATION_MODEL,
                                    on_delete=models.CASCADE, related_name="+")
    uri = models.URLField(max_length=2000)
    allow_private = models.BooleanField(default=False)  # the client's, when queued
    sub = models.CharField(max_length=64)
    sid = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=LogoutStatus.choices,
                              default=LogoutStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"logout of {self.sid} to {self.uri} ({self.status})"
