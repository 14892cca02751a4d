"""The Security section's lock (SPEC §4): only the user's own password opens it, for 10
minutes, in this session only; wrong passwords count toward the password throttle."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.http import HttpRequest

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.devices.request_info import RequestInfo
from loginguard.factors import passkeys
from loginguard.factors.stepup import factor_code_check, needed, strong_factors
from loginguard.lib import clock
from loginguard.signin.services import own_password_error
from loginguard.signin.sessions import session_rotate_key

if TYPE_CHECKING:
    from loginguard.users.models import User

SESSION_KEY = "lg_unlock"
UNLOCK_FOR = timedelta(minutes=10)


def unlocked_until(request: HttpRequest) -> datetime | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("user_id") != request.user.pk:
        return None
    try:
        until = datetime.fromisoformat(str(data.get("until")))
    except ValueError:
        return None
    return until if clock.now() < until else None


def is_unlocked(request: HttpRequest) -> bool:
    return request.user.is_authenticated and unlocked_until(request) is not None


def security_unlock(request: HttpRequest, *, user: User, password: object,
                    code: object = None, recovery_code: object = None) -> str | None:
    """Unlock with the user's own password, and, for a user who has a factor beyond the
    mailbox (SPEC §14), that factor's code or a recovery code as well (or a passkey alone:
    ``security_unlock_passkey``): a password reset from the mailbox never opens the
    section of such an account. An error message, or None on success."""
    info = RequestInfo.of(request)
    secret = password if isinstance(password, str) else ""
    error = own_password_error(user, secret, info)
    if error:
        return error
    how = "password"
    if strong_factors(user):
        if not code and not recovery_code:
            return (f"Your password alone does not unlock this section: give "
                    f"{needed(user)} too, or a recovery code (or unlock with your passkey).")
        problem, passed = factor_code_check(user=user, code=code,
                                            recovery_code=recovery_code, info=info)
        if problem:
            return problem
        how = f"password+{passed}"
    _unlocked(request, user, info, how)
    return None


def security_unlock_passkey(request: HttpRequest, *, user: User,
                            credential: object) -> str | None:
    """Unlock with one of the user's passkeys instead of the password (SPEC §14)."""
    info = RequestInfo.of(request)
    try:
        passkeys.passkey_verify(session=request.session, purpose=passkeys.UNLOCK,
                                credential=credential, user=user, info=info)
    except passkeys.Refused as refused:
        audit_log(event_type=EventType.SECURITY_UNLOCK_FAILED, subject=user, actor=user,
                  info=info, extra={"with": "passkey"})
        return str(refused)
    _unlocked(request, user, info, "passkey")
    return None


def _unlocked(request: HttpRequest, user: User, info: RequestInfo, how: str) -> None:
    with transaction.atomic():
        session_rotate_key(request)
        request.session[SESSION_KEY] = {"user_id": user.pk,
                                        "until": (clock.now() + UNLOCK_FOR).isoformat()}
        audit_log(event_type=EventType.SECURITY_UNLOCKED, subject=user, actor=user, info=info,
                  extra={"with": how})


def security_lock(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
