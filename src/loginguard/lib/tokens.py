"""Self-invalidating, expiring links (Django's password-reset token, with our clock and
our own lifetimes). A token dies when the user's password, last login or email changes (so
a used reset or invitation link cannot be used twice), while the user is inactive, and for
good when the user is deactivated (``links_invalidated_at``), even once reactivated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.http import base36_to_int

from loginguard.lib import clock


class ExpiringTokenGenerator(PasswordResetTokenGenerator):
    timeout_seconds = 3600

    def __init__(self, *, purpose: str, timeout_seconds: int) -> None:
        super().__init__()
        self.key_salt = f"loginguard.{purpose}"
        self.timeout_seconds = timeout_seconds

    def _now(self) -> datetime:
        return clock.now().replace(tzinfo=None)

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        invalidated = user.links_invalidated_at
        stamp = "" if invalidated is None else int(invalidated.timestamp())
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}{stamp}"

    def check_token(self, user: Any, token: str | None) -> bool:
        if not token or len(token) > 64 or not super().check_token(user, token):
            return False
        issued = base36_to_int(token.split("-")[0])
        return self._num_seconds(self._now()) - issued <= self.timeout_seconds


invitation_tokens = ExpiringTokenGenerator(purpose="invitation", timeout_seconds=72 * 3600)
password_reset_tokens = ExpiringTokenGenerator(purpose="password-reset", timeout_seconds=3600)
