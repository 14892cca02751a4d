from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

# The longest password loginguard hashes (SPEC §4): the policy refuses longer ones, and the
# sign-in, unlock and password change never hand a longer input to Argon2.
MAX_PASSWORD = 1024


class MaximumLengthValidator:
    # Bounds the Argon2 input so a megabyte "password" cannot be used to burn CPU.
    def __init__(self, max_length: int = MAX_PASSWORD) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long: use at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password can be at most {self.max_length} characters."


class TenantNameValidator:
    """Bans the user's client account and reseller names inside the password
    (SPEC §4): they are the first words an attacker who knows the tenant tries."""

    def validate(self, password: str, user: Any = None) -> None:
        lowered = password.casefold()
        for name in self._banned(user):
            if len(name) >= 3 and name.casefold() in lowered:
                raise ValidationError(
                    "Your password must not contain the name of your account or reseller.",
                    code="password_contains_tenant_name",
                )

    @staticmethod
    def _banned(user: Any) -> list[str]:
        if user is None:
            return []
        names = []
        account = getattr(user, "account", None)
        reseller = getattr(user, "reseller", None)
        if account is not None:
            names.append(account.name)
            if account.reseller is not None:
                names.append(account.reseller.name)
        if reseller is not None:
            names.append(reseller.name)
        return names

    def get_help_text(self) -> str:
        return "Your password can't contain your account's or reseller's name."


# Text that loginguard puts into emails others receive (usernames, names, account names)
# must not carry a link: a crafted "name" like "https://evil.example/reset" would read as
# part of the security email. Usernames: letters, digits and . _ @ + - (Django's username
# character set); names: letters, digits, spaces and ' ’ . , & ( ) -. Neither may look
# like a web address.
USERNAME_CHARS = re.compile(r"[\w.@+-]+", re.UNICODE)
NAME_CHARS = re.compile(r"[\w '’.,&()-]+", re.UNICODE)
LOOKS_LIKE_URL = re.compile(r"(?i)https?\b|www\.")


def charset_error(value: str, *, username: bool) -> str | None:
    """Why ``value`` can't be a username (or a name), or None. The character sets leave
    out every control character (a NUL is also a 500 on PostgreSQL) and ``/`` ``:``."""
    chars = USERNAME_CHARS if username else NAME_CHARS
    if not chars.fullmatch(value):
        allowed = ("letters, digits and . _ @ + -" if username
                   else "letters, digits, spaces and ' . , & ( ) -")
        return f"Use only {allowed}."
    if LOOKS_LIKE_URL.search(value):
        return "It can't contain a web address."
    return None
