"""Actions of the unlocked Security section (SPEC §4). Each is one service that writes
its audit row in the same transaction and queues its email."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import password_validation, update_session_auth_hash
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from loginguard.audit.events import EventType
from loginguard.audit.services import record
from loginguard.devices.models import TrustedDevice
from loginguard.devices.request_info import RequestInfo
from loginguard.devices.services import trusted_device_match
from loginguard.emails import kinds as emails
from loginguard.security.revocation import credentials_revoke
from loginguard.signin.models import UserSession
from loginguard.signin.sessions import sessions_end_all

if TYPE_CHECKING:
    from loginguard.users.models import User


def clean_device_name(name: object) -> str:
    text = " ".join(name.split()) if isinstance(name, str) else ""
    if not text or len(text) > 64 or not text.isprintable():
        raise ValidationError("Give the device a name of 1 to 64 characters.")
    return text


def trusted_device_rename(*, user: User, device: TrustedDevice, name: object,
                          info: RequestInfo) -> None:
    new_name = clean_device_name(name)
    with transaction.atomic():
        old = device.name
        TrustedDevice.objects.filter(pk=device.pk, user=user).update(name=new_name)
        record(event_type=EventType.DEVICE_RENAMED, subject=user, actor=user, ip=info.ip,
               user_agent=info.user_agent, extra={"from": old, "to": new_name})


def trusted_device_revoke(*, user: User, device: TrustedDevice, info: RequestInfo) -> None:
    with transaction.atomic():
        TrustedDevice.objects.filter(pk=device.pk, user=user).delete()
        record(event_type=EventType.DEVICE_REVOKED, subject=user, actor=user, ip=info.ip,
               user_agent=info.user_agent, extra={"device": device.name})


def current_device(user: User, info: RequestInfo) -> TrustedDevice | None:
    return trusted_device_match(user=user, secret=info.device_secret, current=info.fingerprint)


def user_session_end(*, user: User, target: UserSession, info: RequestInfo) -> None:
    from importlib import import_module

    from django.conf import settings

    with transaction.atomic():
        import_module(settings.SESSION_ENGINE).SessionStore(target.session_key).delete()
        target.delete()
        record(event_type=EventType.SESSION_REVOKED, subject=user, actor=user, ip=info.ip,
               user_agent=info.user_agent,
               extra={"device": f"{target.browser} on {target.os}", "ip": target.ip})


def user_sessions_end_others(*, user: User, current_key: str | None, info: RequestInfo) -> int:
    with transaction.atomic():
        count = sessions_end_all(user=user, keep_session_key=current_key)
        record(event_type=EventType.SESSION_REVOKED, subject=user, actor=user, ip=info.ip,
               user_agent=info.user_agent, extra={"count": count, "others": True})
    return count


def password_change(request: HttpRequest, *, user: User, current: object, new: object,
                    repeat: object, revoke_tokens: bool = False) -> dict[str, list[str]]:
    """Change the password from the unlocked section. Ends the user's other sessions,
    revokes their other trusted devices and pending codes (and their API tokens when they
    ask: ``revoke_tokens``), and emails a notice."""
    errors: dict[str, list[str]] = {}
    info = RequestInfo.of(request)
    from loginguard.security.unlock import own_password_error

    wrong = own_password_error(user, current if isinstance(current, str) else "", info)
    if wrong:
        errors["current_password"] = [wrong]
    new_text = new if isinstance(new, str) else ""
    if new_text != repeat:
        errors["new_password2"] = ["The two new passwords are not the same."]
    try:
        password_validation.validate_password(new_text, user)
    except ValidationError as exc:
        errors["new_password1"] = list(exc.messages)
    if errors:
        return errors
    keep = current_device(user, info)
    with transaction.atomic():
        user.set_password(new_text)
        user.save(update_fields=["password"])
        old_key = request.session.session_key
        update_session_auth_hash(request, user)  # this session stays signed in (new key)
        UserSession.objects.filter(session_key=old_key).update(
            session_key=request.session.session_key)
        credentials_revoke(user=user, reason="password_changed",
                           keep_session_key=request.session.session_key, keep_device=keep,
                           revoke_tokens=revoke_tokens)
        record(event_type=EventType.PASSWORD_CHANGED, subject=user, actor=user, ip=info.ip,
               user_agent=info.user_agent, extra={"tokens_revoked": revoke_tokens})
        if user.notify_password_changed:
            emails.send_password_changed(user=user, ip=info.ip,
                                         how="changed in the Security section")
    return {}


def user_unlock_by_operator(*, user: User) -> int:
    """``loginguard unlock_user``: clear the user's sign-in and code locks (every source),
    audited ``via: cli``. How many counters were cleared."""
    from loginguard.codes.models import CodePurpose
    from loginguard.throttle.policies import user_locks_clear

    with transaction.atomic():
        cleared = user_locks_clear(username_key=user.username_key, user_id=user.pk,
                                   code_purposes=list(CodePurpose.values))
        record(event_type=EventType.USER_UNLOCKED, subject=user, actor=None,
               extra={"via": "cli", "counters": cleared})
    return cleared
