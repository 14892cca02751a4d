from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q


def username_key(username: str) -> str:
    """SPEC §1: usernames compare case-insensitively after NFKC normalisation."""
    return unicodedata.normalize("NFKC", username).casefold()


class UserKind(models.TextChoices):
    CLIENT = "client", "Client user"
    RESELLER = "reseller", "Reseller user"


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username_key=username_key(username or ""))

    def create_user(self, username: str, email: str, password: str | None = None,
                    **fields: Any) -> User:
        user = self.model(username=username, email=self.normalize_email(email), **fields)
        user.set_password(password) if password else user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    username = models.CharField(max_length=150, unique=True)
    # The normalised form, unique: "Alice", "ALICE" and "Ａｌｉｃｅ" are one user.
    username_key = models.CharField(max_length=150, unique=True, editable=False)
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    kind = models.CharField(max_length=10, choices=UserKind.choices)
    account = models.ForeignKey(
        "tenancy.ClientAccount", null=True, blank=True, on_delete=models.PROTECT,
        related_name="users",
    )
    reseller = models.ForeignKey(
        "tenancy.Reseller", null=True, blank=True, on_delete=models.PROTECT,
        related_name="users",
    )
    is_client_admin = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(auto_now_add=True)
    # Notifications tab: security emails a user may turn off. The untrusted-device alert,
    # codes, reset links and the old-address notice of an email change cannot be.
    notify_new_device = models.BooleanField(default=True)
    notify_password_changed = models.BooleanField(default=True)
    notify_token_created = models.BooleanField(default=True)
    notify_code_lockout = models.BooleanField(default=True)
    # Reset and invitation links issued before this moment are dead, even once the user is
    # active again (set on deactivation; part of the links' hash, lib/tokens.py).
    links_invalidated_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["username_key"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="client", account__isnull=False, reseller__isnull=True)
                    | Q(kind="reseller", reseller__isnull=False, account__isnull=True)
                ),
                name="user_kind_matches_tenant",
            ),
            models.CheckConstraint(
                condition=Q(is_client_admin=False) | Q(kind="client"),
                name="user_admin_flag_only_on_client_users",
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.username = unicodedata.normalize("NFKC", self.username)
        self.username_key = username_key(self.username)
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.username

    @property
    def is_reseller_user(self) -> bool:
        return self.kind == UserKind.RESELLER

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class EmailChange(models.Model):
    """A requested email change (SPEC §3): waiting for the user's approval when someone
    else proposed it (no challenge yet), then for the code sent to the new address. Until
    it is confirmed, codes, alerts and reset links keep going to the current address. (Its
    table keeps the name of the app it lived in before: the rows were never moved.)"""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pending_email_change"
    )
    new_email = models.EmailField(max_length=254)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    challenge = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "record_emailchange"

    def __str__(self) -> str:
        return f"user {self.user_id} -> {self.new_email}"

    @property
    def awaiting_approval(self) -> bool:
        """Proposed by someone else (an admin) and not yet approved by the user: no code
        exists, and the proposed address has received nothing."""
        return not self.challenge
