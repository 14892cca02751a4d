"""What the second step of a sign-in may be, under the user's account policy (SPEC §14).

- ``email`` (the default): any factor the user has, strongest first, the emailed code too.
- ``app_or_passkey``: an authenticator app or a passkey (or a recovery code); the emailed
  code only for a user who has neither yet, once more, and then they must add one.
- ``passkey``: a passkey (or a recovery code); a user without one signs in with what they
  have, emailed code included, once more, and then must add a passkey.

Recovery codes are accepted under every level: they are the way back for a user who lost
a device, and each works once and is announced by email."""

from __future__ import annotations

from dataclasses import dataclass

from loginguard.factors.registry import BY_KEY, Factor, enrolled
from loginguard.tenancy.policy import factor_level_for
from loginguard.users.models import User

EMAIL, APP_OR_PASSKEY, PASSKEY = "email", "app_or_passkey", "passkey"
LABELS = {EMAIL: "An emailed code", APP_OR_PASSKEY: "An authenticator app or a passkey",
          PASSKEY: "A passkey"}


@dataclass(frozen=True)
class SecondStep:
    methods: tuple[str, ...]  # factor keys the second step accepts, strongest first
    enroll: str  # "" or the level the user must reach before going on


def satisfies(factors: list[Factor], level: str) -> bool:
    if level == PASSKEY:
        return any(factor.phishing_resistant for factor in factors)
    if level == APP_OR_PASSKEY:
        return any(factor.beyond_email for factor in factors)
    return True


def missing_level(user: User, factors: list[Factor] | None = None) -> str:
    """The level the user must still reach (they lack what their account asks), or ""."""
    level = factor_level_for(user)
    return "" if satisfies(enrolled(user) if factors is None else factors, level) else level


def second_step(user: User, *, passkey_only: bool = False) -> SecondStep:
    """The methods this user's second step accepts now. ``passkey_only``: an app demanded
    a passkey in this sign-in (``acr_values=urn:loginguard:passkey``)."""
    factors = enrolled(user)
    keys = [factor.key for factor in factors]
    if passkey_only:
        return SecondStep(tuple(k for k in keys if BY_KEY[k].phishing_resistant), "")
    level = factor_level_for(user)
    if not satisfies(factors, level):
        return SecondStep(tuple(keys), level)  # once more, then enrol
    if level == PASSKEY:
        allowed = [k for k in keys if BY_KEY[k].phishing_resistant or k == "recovery_codes"]
    elif level == APP_OR_PASSKEY:
        allowed = [k for k in keys if BY_KEY[k].beyond_email or k == "recovery_codes"]
    else:
        allowed = keys
    return SecondStep(tuple(allowed), "")
