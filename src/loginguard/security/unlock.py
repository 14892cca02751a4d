"""The Security section's lock (SPEC §4): only the user's own password opens it, for 10
minutes, in this session only; wrong passwords count toward the password throttle."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.http import HttpRequest

from loginguard.audit.events import EventType
from loginguard.audit.services import record
from loginguard.devices.request_info import RequestInfo
from loginguard.lib import clock
from loginguard.signin.sessions import session_rotate_key
from loginguard.throttle import policies
from loginguard.users.validators import MAX_PASSWORD

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


def security_unlock(request: HttpRequest, *, user: User, password: object) -> str | None:
    """Unlock with the user's own password; an error message, or None on success."""
    info = RequestInfo.of(request)
    secret = password if isinstance(password, str) else ""
    error = own_password_error(user, secret, info)
    if error:
        return error
    with transaction.atomic():
        session_rotate_key(request)
        request.session[SESSION_KEY] = {"user_id": user.pk,
                                        "until": (clock.now() + UNLOCK_FOR).isoformat()}
        record(event_type=EventType.SECURITY_UNLOCKED, subject=user, actor=user, ip=info.ip,
               user_agent=info.user_agent)
    return None


TOO_MANY = "Too many wrong passwords. Wait a few minutes, then try again."
WRONG = "That is not your password. Type the password you sign in with."


def own_password_error(user: User, secret: str, info: RequestInfo) -> str | None:
    """The signed-in user's own password, checked under the password-step budgets (SPEC §4:
    wrong passwords here count like sign-in failures, reserved before the hash runs)."""
    from loginguard.devices.services import browser_devices, trusted_browser

    candidates = browser_devices(user_id=user.pk, secret=info.device_secret)
    attempt = policies.password_attempt(user.username_key, info.ip,
                                        trusted_browser=trusted_browser(candidates))
    if not attempt.allowed:
        return TOO_MANY
    if not secret or len(secret) > MAX_PASSWORD or not user.check_password(secret):
        record(event_type=EventType.SECURITY_UNLOCK_FAILED, subject=user, actor=user,
               ip=info.ip, user_agent=info.user_agent)
        return WRONG
    policies.password_attempt_succeeded(attempt)
    return None


def security_lock(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
