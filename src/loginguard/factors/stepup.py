"""Recovery needs the factor (SPEC §14): for a user with an authenticator app or a passkey,
unlocking the Security section and setting a password from a reset link also ask for
that factor (its code, or a passkey ceremony) or a recovery code, so the mailbox alone
never takes such an account over. Codes count on the sign-in code step's lock."""

from __future__ import annotations

from loginguard.codes.services import Verdict, factor_check
from loginguard.devices.request_info import RequestInfo
from loginguard.factors.registry import BY_KEY, CODE, RECOVERY, Factor, enrolled
from loginguard.users.models import User

WRONG = "That code is not right. Check your authenticator app (or your recovery codes)."
LOCKED = "Too many wrong codes. Wait a while, then try again."


def strong_factors(user: User) -> list[Factor]:
    """The user's factors beyond the mailbox (what recovery must also ask for)."""
    return [factor for factor in enrolled(user) if factor.beyond_email]


def needed(user: User) -> str:
    """What the user must give besides, in words; "" when nothing (email only)."""
    return " or ".join(f"your {factor.label.lower()}" if factor.entry != CODE
                       else f"your {factor.label.lower()}'s code"
                       for factor in strong_factors(user))


def factor_code_check(*, user: User, code: object, recovery_code: object,
                      info: RequestInfo) -> tuple[str | None, str]:
    """An app code or a recovery code of this user: (error or None, what passed)."""
    typed = [factor for factor in strong_factors(user) if factor.entry == CODE]
    factor, submitted = ((next(f for f in BY_KEY.values() if f.entry == RECOVERY),
                          recovery_code) if recovery_code
                         else (typed[0], code) if code and typed else (None, None))
    if factor is None or factor.check is None:
        return f"Give {needed(user)}, or a recovery code.", ""
    check = factor.check
    verdict = factor_check(user=user, info=info, factor=factor.key,
                           check=lambda: check(user, submitted, info))
    if verdict is Verdict.LOCKED:
        return LOCKED, ""
    return (None, factor.key) if verdict is Verdict.OK else (WRONG, "")
