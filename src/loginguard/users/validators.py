from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


class MaximumLengthValidator:
    # Bounds the Argon2 input so a megabyte "password" cannot be used to burn CPU.
    def __init__(self, max_length: int = 1024) -> None:
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
