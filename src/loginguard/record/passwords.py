"""Forgot password (SPEC §2.7) and invitation acceptance (§5): both set a password from
an emailed single-use link, and neither ever signs anybody in."""

from __future__ import annotations

from django.db import transaction

from loginguard.audit.events import EventType
from loginguard.audit.services import record
from loginguard.devices.request_info import RequestInfo
from loginguard.emails import kinds as emails
from loginguard.security.revocation import credentials_revoke
from loginguard.throttle import policies
from loginguard.users.models import User


def password_reset_request(*, email: str, info: RequestInfo) -> None:
    """Queue the reset for this address. The request does the same work whether or not an
    account has it (the budgets, then one task with the address as typed); the worker
    looks the users up (``password_reset_dispatch``), so neither the answer nor its timing
    tells anything about accounts."""
    from loginguard.record.tasks import password_reset_dispatch

    email = email.strip()[:254]
    if not email or not policies.reset_request_allowed(email, info.ip):
        return
    password_reset_dispatch.using(queue_name="email").enqueue(email, info.ip,
                                                              info.user_agent)


def password_reset_send_all(*, email: str, info: RequestInfo) -> int:
    """The worker's half: a reset link to every active user with this address that has a
    password. Returns how many were queued."""
    sent = 0
    with transaction.atomic():
        for user in User.objects.filter(email__iexact=email, is_active=True):
            if not user.has_usable_password():
                continue  # invited, never set a password: the invitation is the way in
            record(event_type=EventType.PASSWORD_RESET_REQUESTED, subject=user, ip=info.ip,
                   user_agent=info.user_agent)
            emails.send_password_reset(user=user, ip=info.ip)
            sent += 1
    return sent


def password_reset_complete(*, user: User, password: str, info: RequestInfo) -> None:
    """Set the new password; end every session, revoke trusted devices, pending codes and
    API tokens (a reset is the "I was compromised" path), and tell the user. The user then
    signs in normally, code included; a pending sign-in started before dies (its password
    hash no longer matches)."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        credentials_revoke(user=user, reason="password_reset")
        policies.password_counters_clear(user.username_key)
        record(event_type=EventType.PASSWORD_RESET_COMPLETED, subject=user, ip=info.ip,
               user_agent=info.user_agent)
        emails.send_password_changed(user=user, ip=info.ip, how="reset with an emailed link")


def invitation_accept(*, user: User, password: str, info: RequestInfo) -> None:
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        record(event_type=EventType.PASSWORD_CHANGED, subject=user, actor=user, ip=info.ip,
               user_agent=info.user_agent, extra={"via": "invitation"})


def password_reset_send(*, actor: User, target: User, info: RequestInfo) -> None:
    """An admin sends a user the reset email. The admin never sees the link or sets the
    password (SPEC §5)."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from loginguard.record import permissions

    if not permissions.can_edit_permissions(actor, target):
        raise PermissionDenied
    if not target.is_active:
        raise ValidationError("Reactivate the user before sending a reset link.")
    if not policies.admin_mail_allowed(actor.pk, target.email):
        raise ValidationError("Too many invitations or reset links were sent by you or to "
                              f"{target.username} in the last hour. Try again later.")
    with transaction.atomic():
        if target.has_usable_password():
            record(event_type=EventType.PASSWORD_RESET_REQUESTED, subject=target, actor=actor,
                   ip=info.ip, user_agent=info.user_agent)
            emails.send_password_reset(user=target, ip=info.ip)
        else:  # never set a password: the invitation is the way in
            record(event_type=EventType.USER_INVITED, subject=target, actor=actor, ip=info.ip,
                   user_agent=info.user_agent)
            emails.send_invitation(user=target, invited_by=actor)
