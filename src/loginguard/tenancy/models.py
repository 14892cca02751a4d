from __future__ import annotations

from django.db import models


class IpMatch(models.TextChoices):
    # SPEC §2.2: how a trusted device's IP is compared at sign-in.
    EXACT = "exact", "Exact IP address"
    NETWORK = "network", "Same network (IPv4 /24, IPv6 /64)"
    OFF = "off", "Ignore the IP (device secret + browser + OS only)"


class FactorLevel(models.TextChoices):
    # SPEC §14: what a user must prove beyond the password, in order of strictness.
    EMAIL = "email", "An emailed code is enough"
    APP_OR_PASSKEY = "app_or_passkey", "An authenticator app or a passkey"
    PASSKEY = "passkey", "A passkey (phishing-resistant)"


INHERIT = ""  # an account's level: its reseller's default for its accounts (else email)


class Reseller(models.Model):
    name = models.CharField(max_length=120, unique=True)
    is_active = models.BooleanField(default=True)
    ip_match = models.CharField(max_length=10, choices=IpMatch.choices, default=IpMatch.EXACT)
    # The reseller's own users' factor level, and the default of its client accounts.
    factor_policy = models.CharField(max_length=16, choices=FactorLevel.choices,
                                     default=FactorLevel.EMAIL)
    accounts_factor_policy = models.CharField(max_length=16, choices=FactorLevel.choices,
                                              default=FactorLevel.EMAIL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ClientAccount(models.Model):
    name = models.CharField(max_length=120, unique=True)
    reseller = models.ForeignKey(
        Reseller, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    # A suspended account signs nobody in (SPEC §2 step 1: same generic error).
    is_active = models.BooleanField(default=True)
    ip_match = models.CharField(max_length=10, choices=IpMatch.choices, default=IpMatch.EXACT)
    # The account's factor level ("": its reseller's default for accounts), and a stricter
    # one for its client admins alone ("": the same as everyone's).
    factor_policy = models.CharField(max_length=16, blank=True, default=INHERIT,
                                     choices=FactorLevel.choices)
    admin_factor_policy = models.CharField(max_length=16, blank=True, default=INHERIT,
                                           choices=FactorLevel.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Connection(models.Model):
    """A reseller user connected to one of their reseller's client accounts.

    That both sides belong to the same reseller is enforced by database triggers
    (tenancy/triggers.py, installed after every migrate by the app's post_migrate hook),
    not only here: a bug or a raw query must not connect a reseller user to another
    reseller's customer."""

    user = models.ForeignKey(
        "users.User", on_delete=models.CASCADE, related_name="connections"
    )
    account = models.ForeignKey(
        ClientAccount, on_delete=models.CASCADE, related_name="connections"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="connection_unique"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} -> account {self.account_id}"
