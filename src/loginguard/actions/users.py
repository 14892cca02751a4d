"""Writes to a user (SPEC §1, §3, §5): create and invite, User Details, notifications,
role and active flag, and the email address, each checked against ``access.rules``,
audited in its transaction, its email queued."""

from __future__ import annotations

import secrets
import zoneinfo
from typing import TYPE_CHECKING, Any

from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction

from loginguard.access.rules import can_edit_details, can_edit_notifications, can_edit_permissions
from loginguard.actions.credentials import credentials_revoke
from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.codes.models import CodePurpose
from loginguard.codes.services import (
    CODE_LIFETIME,
    QuotaError,
    Verdict,
    code_issue,
    code_verify,
)
from loginguard.devices.models import TrustedDevice
from loginguard.devices.request_info import NO_REQUEST, RequestInfo
from loginguard.devices.services import trusted_device_match
from loginguard.emails import kinds as emails
from loginguard.lib import clock
from loginguard.throttle import policies
from loginguard.users.models import EmailChange, User, UserKind, username_key
from loginguard.users.validators import charset_error

if TYPE_CHECKING:
    from loginguard.tenancy.models import ClientAccount, Reseller

USERNAME_MAX = 150


def clean_username(username: str) -> str:
    username = username.strip()
    if not username:
        raise ValidationError("The username can't be empty.")
    if len(username) > USERNAME_MAX:
        raise ValidationError("Use a username of at most 150 characters.")
    problem = charset_error(username, username=True)
    if problem:
        raise ValidationError(f"Username: {problem}")
    if User.objects.filter(username_key=username_key(username)).exists():
        # Usernames are unique installation-wide, so this can't help saying the name exists
        # somewhere; it says no more (not where), and invitations are budgeted per admin.
        raise ValidationError("That username is not available: choose another (usernames "
                              "ignore case).")
    return username


def clean_email(email: str) -> str:
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(f"{email!r} is not a valid email address.") from None
    return User.objects.normalize_email(email)


def user_create(
    *,
    username: str,
    email: str,
    account: ClientAccount | None = None,
    reseller: Reseller | None = None,
    is_client_admin: bool = False,
    password: str | None = None,
    invite: bool = False,
    actor: User | None = None,
) -> User:
    """Create a client user (``account``) or reseller user (``reseller``). With a
    password it must pass the policy; with ``invite`` the user gets an email link to set
    one; with neither the user cannot sign in until a reset."""
    if (account is None) == (reseller is None):
        raise ValidationError("A user belongs to exactly one client account or one reseller.")
    if is_client_admin and account is None:
        raise ValidationError("Only client users can be client admins.")
    if invite and actor is not None and not policies.admin_mail_allowed(
            actor.pk, email if isinstance(email, str) else ""):
        # Counted before anything is checked: the budget also bounds username probing.
        raise ValidationError("Too many invitations or reset links were sent by you or to "
                              "this address in the last hour. Try again later.")
    user = User(
        username=clean_username(username),
        email=clean_email(email),
        kind=UserKind.CLIENT if account is not None else UserKind.RESELLER,
        account=account,
        reseller=reseller,
        is_client_admin=is_client_admin,
    )
    if password is not None:
        password_validation.validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        audit_log(event_type=EventType.USER_CREATED, subject=user, actor=actor,
                  extra={"admin": is_client_admin, "invited": invite})
        if invite:
            user_invite(user=user, actor=actor)
    return user


def user_invite(*, user: User, actor: User | None = None) -> None:
    with transaction.atomic():
        audit_log(event_type=EventType.USER_INVITED, subject=user, actor=actor)
        emails.send_invitation(user=user, invited_by=actor)


DETAIL_LIMITS = {"first_name": 150, "last_name": 150, "phone": 40}
NOTIFICATIONS = ("notify_new_device", "notify_password_changed", "notify_token_created",
                 "notify_code_lockout")


def clean_details(data: dict[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for field, limit in DETAIL_LIMITS.items():
        value = data.get(field, "")
        label = field.replace('_', ' ').capitalize()
        if not isinstance(value, str) or len(value) > limit or not value.isprintable():
            raise ValidationError(f"{label}: use at most {limit} printable characters.")
        value = value.strip()
        problem = charset_error(value, username=False) if value and field != "phone" \
            else None
        if problem:
            raise ValidationError(f"{label}: {problem}")
        cleaned[field] = value
    tz = data.get("time_zone", "UTC")
    if not isinstance(tz, str) or tz not in zoneinfo.available_timezones():
        raise ValidationError("Choose a time zone from the list, e.g. Europe/Paris.")
    cleaned["time_zone"] = tz
    return cleaned


def user_update_details(*, actor: User, target: User, data: dict[str, Any],
                        info: RequestInfo) -> None:
    if not can_edit_details(actor, target):
        raise PermissionDenied
    cleaned = clean_details(data)
    changed = {k: v for k, v in cleaned.items() if getattr(target, k) != v}
    if changed:
        _user_fields_set(actor=actor, target=target, changed=changed, info=info,
                         extra={"fields": sorted(changed)})


def _user_fields_set(*, actor: User, target: User, changed: dict[str, Any],
                     info: RequestInfo, extra: dict[str, Any]) -> None:
    """Write the changed fields of a user record and its audit row, together."""
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(**changed)
        for key, value in changed.items():
            setattr(target, key, value)
        audit_log(event_type=EventType.USER_UPDATED, subject=target, actor=actor, info=info,
                  extra=extra)


UNLOCK_FIRST = ("To change your own email address, first unlock the Security section at the "
                "bottom of this page with your password.")


def email_change_request(*, actor: User, target: User, new_email: object, info: RequestInfo,
                         unlocked: bool) -> None:
    """Start an email change. The user's own change needs the Security-section unlock
    (``unlocked``: their password, in this session) and then the code sent to the new
    address. A change anyone else starts is only a proposal: the user is told at the
    current address and must approve it themselves (``email_change_approve``); the
    proposed address receives nothing until then (the review's takeover path: an admin
    pointed the address at a mailbox they own, then sent a reset link)."""
    if not can_edit_details(actor, target):
        raise PermissionDenied
    if actor.pk == target.pk and not unlocked:
        raise ValidationError(UNLOCK_FIRST)
    email = clean_email(new_email if isinstance(new_email, str) else "")
    if email.casefold() == target.email.casefold():
        raise ValidationError("That is already the address of this user.")
    if actor.pk != target.pk:
        _email_change_propose(actor=actor, target=target, email=email, info=info)
        return
    _email_change_start(target=target, email=email, requested_by=actor, info=info)


OWN_CHANGE_PENDING = ("{username} is confirming a new address of their own right now. "
                      "Nothing was changed: try again once they have finished or cancelled "
                      "it (within 10 minutes).")


def _email_change_propose(*, actor: User, target: User, email: str, info: RequestInfo) -> None:
    """An admin's proposal never replaces a change the user started themselves and may be
    confirming right now (its code is live for CODE_LIFETIME); an older one, whose code
    can no longer be entered, gives way."""
    # A change with a challenge is the user's own (or one they approved): they hold its code.
    own = EmailChange.objects.filter(user=target).exclude(
        challenge="").values_list("created_at", flat=True).first()
    if own is not None and clock.now() - own < CODE_LIFETIME:
        raise ValidationError(OWN_CHANGE_PENDING.format(username=target.username))
    if not policies.admin_mail_allowed(actor.pk, target.email):
        raise ValidationError("Too many emails were sent on your behalf or to this user in "
                              "the last hour. Try again later.")
    with transaction.atomic():
        EmailChange.objects.update_or_create(user=target, defaults={
            "new_email": email, "requested_by": actor, "challenge": "",
            "created_at": clock.now()})
        audit_log(event_type=EventType.EMAIL_CHANGE_REQUESTED, subject=target, actor=actor,
                  info=info, extra={"new_email": email, "awaiting": "user approval"})
        emails.send_email_change_approval(user=target, new_email=email, requested_by=actor,
                                          ip=info.ip)


def _email_change_start(*, target: User, email: str, requested_by: User | None,
                        info: RequestInfo) -> None:
    challenge = secrets.token_urlsafe(24)
    try:
        with transaction.atomic():
            EmailChange.objects.update_or_create(user=target, defaults={
                "new_email": email, "requested_by": requested_by, "challenge": challenge,
                "created_at": clock.now()})
            code = code_issue(user=target, purpose=CodePurpose.EMAIL_CHANGE,
                              challenge=challenge, cooldown=True, info=info)
            audit_log(event_type=EventType.EMAIL_CHANGE_REQUESTED, subject=target, actor=target,
                      info=info, extra={"new_email": email})
            emails.send_email_change_code(user=target, new_email=email, code=code,
                                          requested_by=requested_by)
            emails.send_email_change_notice(user=target, new_email=email, completed=False,
                                            ip=info.ip)
    except QuotaError as exc:
        raise ValidationError(f"{exc} Try again in a minute.") from None


def email_change_approve(*, actor: User, target: User, info: RequestInfo,
                         unlocked: bool) -> str:
    """The user approves a change someone else proposed: from now on it is their own
    change (the code goes to the new address and they enter it). Only the user, unlocked.
    Returns the address a code was sent to."""
    if actor.pk != target.pk:
        raise PermissionDenied
    if not unlocked:
        raise ValidationError(UNLOCK_FIRST)
    change = EmailChange.objects.filter(user=target).first()
    if change is None or not change.awaiting_approval:
        raise ValidationError("There is no email change waiting for your approval.")
    _email_change_start(target=target, email=change.new_email,
                        requested_by=change.requested_by, info=info)
    return change.new_email


def email_change_confirm(*, actor: User, target: User, code: object, info: RequestInfo,
                         unlocked: bool) -> None:
    """Enter the code sent to the new address: only the user, with the section unlocked.
    Wrong codes count on their own budget (not the sign-in code step's)."""
    if actor.pk != target.pk:
        raise PermissionDenied
    if not unlocked:
        raise ValidationError(UNLOCK_FIRST)
    change = EmailChange.objects.filter(user=target).first()
    if change is None or change.awaiting_approval:
        raise ValidationError("There is no email change waiting for a code.")
    verdict = code_verify(user=target, purpose=CodePurpose.EMAIL_CHANGE,
                          challenge=change.challenge, submitted=code, info=info)
    if verdict is not Verdict.OK:
        raise ValidationError("That code is not right, or it expired. Check the email sent "
                              "to the new address, or change the address again for a new code.")
    email_set(target=target, email=change.new_email, info=info, actor=actor,
              keep=trusted_device_match(user=target, secret=info.device_secret,
                                        current=info.fingerprint))


def email_set(*, target: User, email: str, info: RequestInfo, actor: User | None,
              keep: TrustedDevice | None = None, via: str = "") -> None:
    """Make ``email`` the user's address: devices revoked (but ``keep``), the old address
    told. The confirmed end of an email change, and the operator's escape hatch."""
    old_email = target.email
    with transaction.atomic():
        target.email = email
        target.save(update_fields=["email"])
        EmailChange.objects.filter(user=target).delete()
        credentials_revoke(user=target, reason="email_changed", keep_device=keep)
        audit_log(event_type=EventType.EMAIL_CHANGED, subject=target, actor=actor, info=info,
                  extra={"from": old_email, "to": email, **({"via": via} if via else {})})
        emails.send_email_change_notice(user=target, new_email=email, completed=True,
                                        ip=info.ip, to=old_email)


def email_change_cancel(*, actor: User, target: User) -> None:
    if not can_edit_details(actor, target):
        raise PermissionDenied
    EmailChange.objects.filter(user=target).delete()


def user_set_notifications(*, actor: User, target: User, choices: dict[str, bool],
                           info: RequestInfo) -> None:
    if not can_edit_notifications(actor, target):
        raise PermissionDenied
    changed = {k: bool(choices.get(k)) for k in NOTIFICATIONS
               if getattr(target, k) != bool(choices.get(k))}
    if changed:
        _user_fields_set(actor=actor, target=target, changed=changed, info=info,
                         extra={"notifications": changed})


def user_set_role(*, actor: User, target: User, is_client_admin: bool,
                  info: RequestInfo) -> None:
    if not can_edit_permissions(actor, target):
        raise PermissionDenied
    if target.is_client_admin == is_client_admin:
        return
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(is_client_admin=is_client_admin)
        target.is_client_admin = is_client_admin
        audit_log(event_type=EventType.USER_UPDATED, subject=target, actor=actor, info=info,
                  extra={"client_admin": is_client_admin})


def user_set_active(*, actor: User, target: User, active: bool, info: RequestInfo) -> None:
    """Deactivation ends the user's sessions, revokes devices and tokens (SPEC §2.3, §5)."""
    if not can_edit_permissions(actor, target):
        raise PermissionDenied
    _active_write(target=target, active=active, actor=actor, info=info)


def user_set_active_by_operator(*, target: User, active: bool) -> bool:
    """``loginguard deactivate_user`` / ``reactivate_user``: the same change, audited
    ``via: cli``. Whether anything changed."""
    return _active_write(target=target, active=active, actor=None, info=NO_REQUEST,
                         via="cli")


def _active_write(*, target: User, active: bool, actor: User | None, info: RequestInfo,
                  via: str = "") -> bool:
    if target.is_active == active:
        return False
    with transaction.atomic():
        changes: dict[str, object] = {"is_active": active}
        if not active:  # outstanding reset and invitation links die for good
            changes["links_invalidated_at"] = clock.now()
        User.objects.filter(pk=target.pk).update(**changes)
        for field, value in changes.items():
            setattr(target, field, value)
        if not active:
            credentials_revoke(user=target, reason="deactivated")
            emails.send_account_deactivated(user=target, by=actor)
        audit_log(event_type=EventType.USER_REACTIVATED if active
                  else EventType.USER_DEACTIVATED, subject=target, actor=actor, info=info,
                  extra={"via": via} if via else None)
    return True
