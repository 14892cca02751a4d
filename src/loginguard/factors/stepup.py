"""Recovery needs the factor (SPEC §14): for a user with an authenticator app or a passkey,
unlocking the Security section and setting a password from a reset link also ask for
that factor (its code, or a passkey ceremony) or a recovery code, so the mailbox alone
never takes such an account over. Codes count on the sign-in code step's lock."""

from __future__ import annotations

from loginguard.codes.services import Verdict, factor_check
from loginguard.devices.request_info import RequestInfo
from loginguard.factors import recovery, totp
from loginguard.factors.registry import Factor, enrolled
from loginguard.users.models import User

WRONG = "That code is not right. Check your authenticator app (or your recovery codes)."
LOCKED = "Too many wrong codes. Wait a while, then try again."


def strong_factors(user: User) -> list[Factor]:
    """The user's factors beyond the mailbox (what recovery must also ask for)."""
    return [factor for factor in enrolled(user) if factor.beyond_email]


def needed(user: User) -> str:
    """What the user must give besides, in words; "" when nothing (email only)."""
    return " or ".join("a passkey" if f.key == "passkey" else "an authenticator app's code"
                       for f in strong_factors(user))


def factor_code_check(*, user: User, code: object, recovery_code: object,
                      info: RequestInfo) -> tuple[str | None, str]:
    """An app code or a recovery code of this user: (error or None, what passed)."""
    if recovery_code:
        verdict, how = factor_check(user=user, info=info, factor="recovery_code",
                                    check=lambda: recovery.code_use(
                                        user=user, submitted=recovery_code, info=info)), \
            "recovery_code"
    elif code and any(factor.key == "app" for factor in strong_factors(user)):
        verdict, how = factor_check(user=user, info=info, factor="app", check=lambda: (
            totp.app_code_matches(user, code) is not None)), "app"
    else:
        return f"Give {needed(user)}, or a recovery code.", ""
    if verdict is Verdict.LOCKED:
        return LOCKED, ""
    return (None, how) if verdict is Verdict.OK else (WRONG, "")
