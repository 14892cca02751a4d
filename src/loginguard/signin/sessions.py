"""Signed-in sessions: start (the last stage of sign-in), list and end them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.db import transaction
from django.http import HttpRequest

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.devices.fingerprint import Fingerprint, fingerprint, same_device
from loginguard.devices.models import TrustedDevice
from loginguard.devices.request_info import RequestInfo
from loginguard.factors.proofs import Proof, label, outcome, parsed
from loginguard.lib import clock
from loginguard.signin.models import UserSession
from loginguard.signin.pending import PendingLogin
from loginguard.users.models import User

BACKEND = "loginguard.signin.backend.LoginguardBackend"
IDLE_TIMEOUT = timedelta(minutes=60)
ABSOLUTE_LIFETIME = timedelta(hours=12)
SEEN_RESOLUTION = timedelta(seconds=60)  # write "last seen" at most once a minute

FP_KEY, STARTED_KEY, SEEN_KEY = "lg_fp", "lg_started", "lg_seen"
PROOFS_KEY = "lg_proofs"  # how this sign-in was proved: a list of factors.proofs.Proof
KEY_KEY = "lg_key"  # the session key its UserSession row is filed under
ENROLL_KEY = "lg_enroll"  # a factor level the user must reach before going on


def session_start(request: HttpRequest, *, user: User, info: RequestInfo,
                  proofs: list[Proof], enroll: str = "",
                  device: TrustedDevice | None = None) -> None:
    """The one place a browser becomes signed in (``django.contrib.auth.login``, which
    rotates the session key). ``enroll``: the factor level the user must reach before the
    session reaches anything else (signin.middleware.EnrollmentGate); ``device``: the
    trusted device it signed in as, if any (the session list shows its name)."""
    now = clock.now()
    PendingLogin.clear(request.session)
    with transaction.atomic():
        login(request, user, backend=BACKEND)  # rotates the key, stores the new row
        request.session[FP_KEY] = info.fingerprint.as_dict()
        request.session[STARTED_KEY] = request.session[SEEN_KEY] = now.isoformat()
        request.session[PROOFS_KEY] = [str(proof) for proof in proofs]
        if enroll:
            request.session[ENROLL_KEY] = enroll
        key = request.session.session_key
        assert key is not None  # login() created it
        request.session[KEY_KEY] = key
        UserSession.objects.create(
            session_key=key, user=user, ip=info.ip, device=device,
            browser=info.fingerprint.browser, os=info.fingerprint.os,
            created_at=now, last_seen_at=now)
        audit_log(event_type=EventType.LOGIN_SUCCEEDED, subject=user, actor=user, info=info,
                  extra={"proofs": [str(proof) for proof in proofs],
                         "outcome": outcome(proofs), "factor": label(proofs)})
        # login() inserted the new session row in this transaction, so it commits with its
        # UserSession row: "sign out other sessions" in another process can never see one
        # without the other. Its data is written when the response goes out.


def session_end(request: HttpRequest, *, event: EventType, info: RequestInfo,
                reason: str = "") -> None:
    """Sign this browser out (also drops any pending login: the session is flushed)."""
    user = request.user if request.user.is_authenticated else None
    key = request.session.session_key
    with transaction.atomic():
        if key:
            UserSession.objects.filter(session_key=key).delete()
        if user is not None:
            audit_log(event_type=event, subject=user, actor=user,
                      info=info,
                      extra={"reason": reason} if reason else {})
    logout(request)


def session_rotate_key(request: HttpRequest) -> None:
    """New session key for this browser (unlock, password change), keeping its
    UserSession row attached to it."""
    old = request.session.session_key
    request.session.cycle_key()
    if old:
        UserSession.objects.filter(session_key=old).update(
            session_key=request.session.session_key)
    request.session[KEY_KEY] = request.session.session_key


def session_follow_auth_hash(*, old_key: str | None, request: HttpRequest) -> None:
    """After ``update_session_auth_hash`` (a password change: it gives this session a new
    key), the UserSession row follows the new key."""
    UserSession.objects.filter(session_key=old_key).update(
        session_key=request.session.session_key)
    request.session[KEY_KEY] = request.session.session_key


def sessions_end_all(*, user: User, keep_session_key: str | None = None) -> int:
    """End every signed-in session of the user but ``keep_session_key``, in every process:
    deleting the stored session makes its cookie anonymous on the next request."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    return len(keys)


def binding_violation(request: HttpRequest, policy: str) -> str | None:
    """Why this signed-in session must end now, or None (SPEC §2.4); notes the activity
    (at most once a minute) when it may go on."""
    now = clock.now()
    session = request.session
    _follow_key(session)
    reason = binding_reason(session, fingerprint(request), policy, now)
    if reason is None and seen_is_stale(session, now):
        session[SEEN_KEY] = now.isoformat()
        UserSession.objects.filter(session_key=session.session_key).update(last_seen_at=now)
    return reason


def _follow_key(session: Any) -> None:
    """Keep the session's UserSession row filed under its current key. Django itself gives
    a session a new key when it accepts it under a SECRET_KEY_FALLBACKS key (and re-signs
    it with the new key); without this, "sign out other sessions" and an admin's "end
    session" would look for the old key and miss it."""
    key, filed = session.session_key, session.get(KEY_KEY)
    if filed == key:
        return
    if filed:
        UserSession.objects.filter(session_key=filed).update(session_key=key)
    session[KEY_KEY] = key


def binding_reason(data: Mapping[str, Any], current: Fingerprint, policy: str,
                   now: datetime) -> str | None:
    """The check alone, on a session's decoded data: no reads, no writes (forward auth's
    fast path runs it too)."""
    try:
        started = datetime.fromisoformat(data[STARTED_KEY])
        seen = datetime.fromisoformat(data[SEEN_KEY])
    except (KeyError, TypeError, ValueError):
        return "invalid"
    bound = Fingerprint.from_dict(data.get(FP_KEY))
    if now - started > ABSOLUTE_LIFETIME:
        return "expired"
    if now - seen > IDLE_TIMEOUT:
        return "idle"
    if bound is None or not same_device(policy, bound, current):
        return "fingerprint_changed"
    return None


def seen_is_stale(data: Mapping[str, Any], now: datetime) -> bool:
    """The session's "last seen" is old enough to be written again."""
    try:
        return now - datetime.fromisoformat(data[SEEN_KEY]) > SEEN_RESOLUTION
    except (KeyError, TypeError, ValueError):
        return True


def proofs_of(data: Mapping[str, Any]) -> list[Proof]:
    """How this session's sign-in was proved (a session of its decoded data)."""
    return parsed(data.get(PROOFS_KEY))


def user_session_end(*, user: User, target: UserSession, info: RequestInfo) -> None:
    """The user signs out one of their other sessions (the Security section)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    with transaction.atomic():
        store(target.session_key).delete()
        target.delete()
        audit_log(event_type=EventType.SESSION_REVOKED, subject=user, actor=user, info=info,
                  extra={"device": f"{target.browser} on {target.os}", "ip": target.ip})


def user_sessions_end_others(*, user: User, current_key: str | None, info: RequestInfo) -> int:
    """The user's "sign out other sessions"; how many ended."""
    with transaction.atomic():
        count = sessions_end_all(user=user, keep_session_key=current_key)
        audit_log(event_type=EventType.SESSION_REVOKED, subject=user, actor=user, info=info,
                  extra={"count": count, "others": True})
    return count


def enrollment_due(data: Mapping[str, Any]) -> str:
    """The factor level this session's user must still reach, or "" (the session's data)."""
    value = data.get(ENROLL_KEY, "")
    return value if isinstance(value, str) else ""


def enrollment_done(request: HttpRequest) -> None:
    request.session.pop(ENROLL_KEY, None)
