from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.devices.cookie import hash_secret
from loginguard.devices.fingerprint import Fingerprint, same_device
from loginguard.devices.models import TrustedDevice
from loginguard.devices.request_info import RequestInfo
from loginguard.devices.selectors import trusted_devices_by_secret
from loginguard.emails import kinds as emails
from loginguard.lib import clock
from loginguard.tenancy.policy import ip_policy_for

if TYPE_CHECKING:
    from loginguard.users.models import User

MAX_DEVICES = 20
CODE_FRESHNESS = timedelta(days=30)


def browser_devices(*, user_id: int | None, secret: str | None) -> list[TrustedDevice]:
    """The user's trusted devices anchored to this browser's secret, from any place. Runs
    the same query for an unknown user, so it tells nothing about which usernames exist."""
    if secret is None:
        return []
    return trusted_devices_by_secret(user_id=user_id or 0, secret_hash=hash_secret(secret))


def trusted_device_match(*, user: User, secret: str | None, current: Fingerprint,
                         candidates: list[TrustedDevice] | None = None
                         ) -> TrustedDevice | None:
    """The user's trusted device for this browser secret *and* this IP/browser/OS under
    the account's policy. A copied User-Agent and IP without the secret match nothing.
    ``candidates``: ``browser_devices`` already read for this user and secret."""
    if secret is None:
        return None
    policy = ip_policy_for(user)
    if candidates is None:
        candidates = browser_devices(user_id=user.pk, secret=secret)
    for device in candidates:
        if same_device(policy, device.fingerprint, current):
            device.user = user  # already loaded: recording must not fetch it again
            return device
    return None


def trusted_browser(candidates: list[TrustedDevice]) -> str | None:
    """Which of the user's trusted devices this browser's secret belongs to (its id), from
    any IP or browser (``browser_devices``): the throttle keeps such a browser's password
    failures apart, so failures from elsewhere cannot lock it out (SPEC §2.6)."""
    return str(candidates[0].pk) if candidates else None


def code_is_fresh(device: TrustedDevice) -> bool:
    """SPEC §2.3: a trusted device skips the code until its last code is 30 days old."""
    return clock.now() - device.last_code_at <= CODE_FRESHNESS


def trusted_device_used(*, device: TrustedDevice, info: RequestInfo,
                        code_verified: bool) -> None:
    # A sign-in that skipped the code must not refresh last_code_at, or trust would
    # never expire.
    now = clock.now()
    device.last_used_at = now
    fields = ["last_used_at"]
    if code_verified:
        device.last_code_at = now
        fields.append("last_code_at")
    with transaction.atomic():
        device.save(update_fields=fields)
        audit_log(event_type=EventType.DEVICE_USED, subject=device.user, actor=device.user,
                  info=info,
                  extra={"device": device.name, "code": code_verified})


def trusted_device_create(*, user: User, secret: str, name: str, info: RequestInfo,
                          replaces: str | None = None) -> TrustedDevice:
    """Trust this place with a new ``secret``. The devices of the browser's previous
    secret (``replaces``; other users of the same browser) move to the new one: one
    secret per browser, and the old value is dead."""
    now, current = clock.now(), info.fingerprint
    with transaction.atomic():
        if replaces is not None and replaces != secret:
            TrustedDevice.objects.filter(secret_hash=hash_secret(replaces)).update(
                secret_hash=hash_secret(secret))
        device = TrustedDevice.objects.create(
            user=user, name=name, secret_hash=hash_secret(secret), ip=current.ip,
            browser=current.browser, os=current.os, created_at=now, last_used_at=now,
            last_code_at=now,
        )
        audit_log(event_type=EventType.DEVICE_TRUSTED, subject=user, actor=user, info=info,
                  extra={"device": name, "browser": current.browser,
                                                  "os": current.os})
        _evict_least_recently_used(user=user, info=info)
        emails.send_new_trusted_device(user=user, device=device)
    return device


def _evict_least_recently_used(*, user: User, info: RequestInfo) -> None:
    surplus = TrustedDevice.objects.filter(user=user).order_by("-last_used_at", "-id")[MAX_DEVICES:]
    for device in list(surplus):
        device.delete()
        audit_log(event_type=EventType.DEVICE_EVICTED, subject=user, actor=user, info=info,
                  extra={"device": device.name})


def trusted_devices_revoke_all(*, user: User, keep: TrustedDevice | None = None,
                               reason: str) -> int:
    """Password change/reset, email change, deactivation (SPEC §2.3). A change made by
    the user keeps the device they made it from (``keep``)."""
    devices = TrustedDevice.objects.filter(user=user)
    if keep is not None:
        devices = devices.exclude(pk=keep.pk)
    count, _ = devices.delete()
    if count:
        audit_log(event_type=EventType.DEVICE_REVOKED, subject=user,
                  extra={"count": count, "reason": reason})
    return count


def current_device(user: User, info: RequestInfo) -> TrustedDevice | None:
    """The user's trusted device this request comes from, if any (a change the user makes
    keeps it)."""
    return trusted_device_match(user=user, secret=info.device_secret, current=info.fingerprint)


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
        audit_log(event_type=EventType.DEVICE_RENAMED, subject=user, actor=user, info=info,
                  extra={"from": old, "to": new_name})


def trusted_device_revoke(*, user: User, device: TrustedDevice, info: RequestInfo) -> None:
    with transaction.atomic():
        TrustedDevice.objects.filter(pk=device.pk, user=user).delete()
        audit_log(event_type=EventType.DEVICE_REVOKED, subject=user, actor=user, info=info,
                  extra={"device": device.name})
