"""Self-invalidating, expiring links (the shape of Django's password-reset token, written
on public APIs only: ``salted_hmac``, ``constant_time_compare``, base 36). A token is
``<issued, base 36>-<HMAC>``; the HMAC covers the user's id, password hash, last login,
email, active flag and ``links_invalidated_at``, so a token dies when any of them changes
(a used reset or invitation link cannot be used twice), while the user is inactive, and
for good when the user is deactivated, even once reactivated. Time comes from our clock;
keys from SECRET_KEY and then SECRET_KEY_FALLBACKS (rotation keeps links working)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int, int_to_base36

from loginguard.lib import clock

MAX_TOKEN = 64


class ExpiringTokenGenerator:
    def __init__(self, *, purpose: str, timeout_seconds: int) -> None:
        self.key_salt = f"loginguard.{purpose}"
        self.timeout_seconds = timeout_seconds

    def make_token(self, user: Any) -> str:
        return self.token_at(user, int(clock.now().timestamp()), settings.SECRET_KEY)

    def check_token(self, user: Any, token: str | None) -> bool:
        if not token or len(token) > MAX_TOKEN:
            return False
        try:
            issued = base36_to_int(token.partition("-")[0])
        except ValueError:
            return False
        if not any(constant_time_compare(self.token_at(user, issued, key), token)
                   for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]):
            return False
        return 0 <= int(clock.now().timestamp()) - issued <= self.timeout_seconds

    def token_at(self, user: Any, issued: int, secret: str | bytes) -> str:
        login = "" if user.last_login is None else \
            user.last_login.replace(microsecond=0, tzinfo=None).isoformat()
        invalidated = user.links_invalidated_at
        stamp = "" if invalidated is None else int(invalidated.timestamp())
        value = (f"{user.pk}|{user.password}|{login}|{issued}|{user.email}|"
                 f"{user.is_active}|{stamp}")
        digest = salted_hmac(self.key_salt, value, secret=secret,
                             algorithm="sha256").hexdigest()[::2]
        return f"{int_to_base36(issued)}-{digest}"


invitation_tokens = ExpiringTokenGenerator(purpose="invitation", timeout_seconds=72 * 3600)
password_reset_tokens = ExpiringTokenGenerator(purpose="password-reset", timeout_seconds=3600)
