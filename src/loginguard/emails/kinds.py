"""One function per kind of email (SPEC §7). Each renders its template triplet
``emails/<kind>.subject.txt|.txt|.html`` and queues it; none sends directly."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse
from django.utils.http import urlsafe_base64_encode

from loginguard.emails.queue import queue_email
from loginguard.lib import clock
from loginguard.lib.tokens import invitation_tokens, password_reset_tokens

if TYPE_CHECKING:
    from loginguard.apitokens.models import ApiToken
    from loginguard.devices.models import TrustedDevice
    from loginguard.devices.request_info import RequestInfo
    from loginguard.users.models import User


def _local(when: datetime, tz_name: str) -> datetime:
    try:
        return when.astimezone(zoneinfo.ZoneInfo(tz_name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return when


def _context(user: User, **extra: Any) -> dict[str, Any]:
    when = clock.now()
    return {"user": user, "when_utc": when, "when_local": _local(when, user.time_zone),
            "tz_name": user.time_zone, **extra}


def _link(name: str, user: User, token: str) -> str:
    uid = urlsafe_base64_encode(str(user.pk).encode())
    return str(settings.BASE_URL) + reverse(name, kwargs={"uidb64": uid, "token": token})


def send_invitation(*, user: User, invited_by: User | None) -> None:
    link = _link("invitation_accept", user, invitation_tokens.make_token(user))
    queue_email(kind="invitation", to=user.email,
                context=_context(user, link=link, invited_by=invited_by))


def send_password_reset(*, user: User, ip: str) -> None:
    link = _link("password_reset_confirm", user, password_reset_tokens.make_token(user))
    queue_email(kind="password_reset", to=user.email, context=_context(user, link=link, ip=ip))


def _device_context(user: User, info: RequestInfo, **extra: Any) -> dict[str, Any]:
    fp = info.fingerprint
    return _context(user, ip=fp.ip, browser=fp.browser, os=fp.os, **extra)


def send_verification_code(*, user: User, code: str, info: RequestInfo) -> None:
    queue_email(kind="verification_code", to=user.email,
                context=_device_context(user, info, code=code))


def send_untrusted_login(*, user: User, info: RequestInfo) -> None:
    # Always sent: SPEC §3 says this alert cannot be turned off.
    queue_email(kind="untrusted_login", to=user.email, context=_device_context(user, info))


def send_new_trusted_device(*, user: User, device: TrustedDevice) -> None:
    if not user.notify_new_device:
        return
    queue_email(kind="new_trusted_device", to=user.email, context=_context(
        user, device=device, ip=device.ip, browser=device.browser, os=device.os))


def send_code_lockout(*, user: User, info: RequestInfo) -> None:
    if not user.notify_code_lockout:
        return
    queue_email(kind="code_lockout", to=user.email, context=_device_context(user, info))


def send_password_changed(*, user: User, ip: str, how: str) -> None:
    queue_email(kind="password_changed", to=user.email,
                context=_context(user, ip=ip, how=how))


def send_token_created(*, user: User, token: ApiToken, ip: str) -> None:
    if not user.notify_token_created:
        return
    queue_email(kind="token_created", to=user.email,
                context=_context(user, token=token, ip=ip))


def send_email_change_code(*, user: User, new_email: str, code: str,
                           requested_by: User | None) -> None:
    # To the NEW address: entering this code proves the address works and is theirs.
    queue_email(kind="email_change_code", to=new_email,
                context=_context(user, code=code, new_email=new_email,
                                 requested_by=requested_by))


def send_email_change_notice(*, user: User, new_email: str, completed: bool, ip: str,
                             to: str | None = None) -> None:
    # To the OLD address, always (it cannot be turned off): a takeover that changes the
    # address must not go unnoticed by the owner.
    queue_email(kind="email_change_notice", to=to or user.email,
                context=_context(user, new_email=new_email, completed=completed, ip=ip))


def send_email_change_approval(*, user: User, new_email: str, requested_by: User,
                               ip: str) -> None:
    # To the CURRENT address: someone else proposed a new one, and only the user can
    # approve it (signed in, Security section unlocked). The proposed address gets nothing.
    queue_email(kind="email_change_approval", to=user.email, context=_context(
        user, new_email=new_email, requested_by=requested_by, ip=ip,
        record_url=str(settings.BASE_URL) + reverse("user_record", args=[user.pk])))


def send_account_deactivated(*, user: User, by: User | None) -> None:
    queue_email(kind="account_deactivated", to=user.email, context=_context(user, by=by))


def send_factor_changed(*, user: User, added: bool, factor: str, name: str, ip: str) -> None:
    # Always sent: a factor added by someone else is the start of a takeover, a factor
    # removed the end of a protection.
    queue_email(kind="factor_changed", to=user.email, context=_context(
        user, added=added, factor=factor, name=name, ip=ip))


def send_recovery_codes_generated(*, user: User, replaced: bool, ip: str) -> None:
    queue_email(kind="recovery_codes_generated", to=user.email,
                context=_context(user, replaced=replaced, ip=ip))


def send_recovery_code_used(*, user: User, remaining: int, info: RequestInfo) -> None:
    queue_email(kind="recovery_code_used", to=user.email,
                context=_device_context(user, info, remaining=remaining))


def send_factors_reset(*, user: User, by: User | None) -> None:
    queue_email(kind="factors_reset", to=user.email, context=_context(user, by=by))


def send_factor_policy(*, user: User, level: str, label: str, ready: bool) -> None:
    """The account now asks for more (or less) at sign-in; ``ready``: the user already has
    what it asks for."""
    queue_email(kind="factor_policy", to=user.email, context=_context(
        user, level=level, label=label, ready=ready))
