"""Services behind the user record's tabs (SPEC §3)."""

from __future__ import annotations

import secrets
import zoneinfo
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from loginguard.apitokens.services import api_tokens_revoke_all
from loginguard.audit.events import EventType
from loginguard.audit.services import record
from loginguard.codes.models import CodePurpose
from loginguard.codes.services import QuotaError, Verdict, code_issue, code_verify
from loginguard.devices.services import trusted_devices_revoke_all
from loginguard.emails import kinds as emails
from loginguard.lib import clock
from loginguard.security.models import EmailChange
from loginguard.signin.request_info import RequestInfo
from loginguard.signin.sessions import sessions_end_all
from loginguard.users import permissions
from loginguard.users.models import User
from loginguard.users.services import clean_email

DETAIL_LIMITS = {"first_name": 150, "last_name": 150, "phone": 40}
NOTIFICATIONS = ("notify_new_device", "notify_password_changed", "notify_token_created",
                 "notify_code_lockout")


def clean_details(data: dict[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for field, limit in DETAIL_LIMITS.items():
        value = data.get(field, "")
        if not isinstance(value, str) or len(value) > limit or not value.isprintable():
            raise ValidationError(f"{field.replace('_', ' ').capitalize()}: use at most "
                                  f"{limit} printable characters.")
        cleaned[field] = value.strip()
    tz = data.get("time_zone", "UTC")
    if not isinstance(tz, str) or tz not in zoneinfo.available_timezones():
        raise ValidationError("Choose a time zone from the list, e.g. Europe/Paris.")
    cleaned["time_zone"] = tz
    return cleaned


def user_update_details(*, actor: User, target: User, data: dict[str, Any],
                        info: RequestInfo) -> None:
    if not permissions.can_edit_details(actor, target):
        raise PermissionDenied
    cleaned = clean_details(data)
    changed = {k: v for k, v in cleaned.items() if getattr(target, k) != v}
    if not changed:
        return
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(**changed)
        for key, value in changed.items():
            setattr(target, key, value)
        record(event_type=EventType.USER_UPDATED, subject=target, actor=actor, ip=info.ip,
               user_agent=info.user_agent, extra={"fields": sorted(changed)})


def email_change_request(*, actor: User, target: User, new_email: object,
                         info: RequestInfo) -> None:
    """Start an email change: a code to the new address, a notice to the old one. The
    address in use does not change until the code is entered."""
    if not permissions.can_edit_details(actor, target):
        raise PermissionDenied
    email = clean_email(new_email if isinstance(new_email, str) else "")
    if email.casefold() == target.email.casefold():
        raise ValidationError("That is already the address of this user.")
    challenge = secrets.token_urlsafe(24)
    try:
        with transaction.atomic():
            EmailChange.objects.update_or_create(user=target, defaults={
                "new_email": email, "requested_by": actor, "challenge": challenge,
                "created_at": clock.now()})
            code = code_issue(user=target, purpose=CodePurpose.EMAIL_CHANGE,
                              challenge=challenge, cooldown=True, ip=info.ip,
                              user_agent=info.user_agent)
            record(event_type=EventType.EMAIL_CHANGE_REQUESTED, subject=target, actor=actor,
                   ip=info.ip, user_agent=info.user_agent, extra={"new_email": email})
            emails.send_email_change_code(user=target, new_email=email, code=code,
                                          requested_by=actor)
            emails.send_email_change_notice(user=target, new_email=email, completed=False,
                                            ip=info.ip)
    except QuotaError as exc:
        raise ValidationError(f"{exc} Try again in a minute.") from None


def email_change_confirm(*, actor: User, target: User, code: object,
                         info: RequestInfo) -> None:
    if not permissions.can_edit_details(actor, target):
        raise PermissionDenied
    change = EmailChange.objects.filter(user=target).first()
    if change is None:
        raise ValidationError("There is no email change waiting for a code.")
    verdict = code_verify(user=target, purpose=CodePurpose.EMAIL_CHANGE,
                          challenge=change.challenge, submitted=code, ip=info.ip,
                          user_agent=info.user_agent)
    if verdict is not Verdict.OK:
        raise ValidationError("That code is not right, or it expired. Check the email sent "
                              "to the new address, or change the address again for a new code.")
    old_email = target.email
    keep = None
    if actor.pk == target.pk:
        from loginguard.security.services import current_device

        keep = current_device(target, info)
    with transaction.atomic():
        target.email = change.new_email
        target.save(update_fields=["email"])
        change.delete()
        trusted_devices_revoke_all(user=target, keep=keep, reason="email_changed")
        record(event_type=EventType.EMAIL_CHANGED, subject=target, actor=actor, ip=info.ip,
               user_agent=info.user_agent, extra={"from": old_email, "to": target.email})
        emails.send_email_change_notice(user=target, new_email=target.email, completed=True,
                                        ip=info.ip, to=old_email)


def email_change_cancel(*, actor: User, target: User) -> None:
    if not permissions.can_edit_details(actor, target):
        raise PermissionDenied
    EmailChange.objects.filter(user=target).delete()


def user_set_notifications(*, actor: User, target: User, choices: dict[str, bool],
                           info: RequestInfo) -> None:
    if not permissions.can_edit_notifications(actor, target):
        raise PermissionDenied
    changed = {k: bool(choices.get(k)) for k in NOTIFICATIONS
               if getattr(target, k) != bool(choices.get(k))}
    if not changed:
        return
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(**changed)
        for key, value in changed.items():
            setattr(target, key, value)
        record(event_type=EventType.USER_UPDATED, subject=target, actor=actor, ip=info.ip,
               user_agent=info.user_agent, extra={"notifications": changed})


def user_set_role(*, actor: User, target: User, is_client_admin: bool,
                  info: RequestInfo) -> None:
    if not permissions.can_edit_permissions(actor, target):
        raise PermissionDenied
    if target.is_client_admin == is_client_admin:
        return
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(is_client_admin=is_client_admin)
        target.is_client_admin = is_client_admin
        record(event_type=EventType.USER_UPDATED, subject=target, actor=actor, ip=info.ip,
               user_agent=info.user_agent, extra={"client_admin": is_client_admin})


def user_set_active(*, actor: User, target: User, active: bool, info: RequestInfo) -> None:
    """Deactivation ends the user's sessions, revokes devices and tokens (SPEC §2.3, §5)."""
    if not permissions.can_edit_permissions(actor, target):
        raise PermissionDenied
    if target.is_active == active:
        return
    with transaction.atomic():
        changes: dict[str, object] = {"is_active": active}
        if not active:  # outstanding reset and invitation links die for good
            changes["links_invalidated_at"] = clock.now()
        User.objects.filter(pk=target.pk).update(**changes)
        for field, value in changes.items():
            setattr(target, field, value)
        if not active:
            sessions_end_all(user=target)
            trusted_devices_revoke_all(user=target, reason="deactivated")
            api_tokens_revoke_all(user=target, reason="deactivated")
            emails.send_account_deactivated(user=target, by=actor)
        record(event_type=EventType.USER_DEACTIVATED if not active
               else EventType.USER_REACTIVATED, subject=target, actor=actor, ip=info.ip,
               user_agent=info.user_agent)

