"""Writes to a user's credentials (SPEC §2.3, §2.7, §4, §5): a password changed, reset or
first set from an invitation, what each of those revokes, reset links sent, and the
operator clearing a user's locks."""

from __future__ import annotations

from django.contrib.auth import password_validation, update_session_auth_hash
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django_tasks import task

from loginguard.access.rules import can_edit_permissions
from loginguard.apitokens.services import api_tokens_revoke_all
from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.codes.models import CodePurpose
from loginguard.codes.services import codes_revoke_all
from loginguard.devices.models import TrustedDevice
from loginguard.devices.request_info import NO_REQUEST, RequestInfo
from loginguard.devices.services import current_device, trusted_devices_revoke_all
from loginguard.emails import kinds as emails
from loginguard.factors.models import AuthenticatorApp, Passkey, RecoveryCode
from loginguard.signin.services import own_password_error
from loginguard.signin.sessions import session_follow_auth_hash, sessions_end_all
from loginguard.throttle import policies
from loginguard.users.models import User

# reason -> (end sessions, revoke pending codes, revoke API tokens). Trusted devices are
# revoked by every one of them (SPEC §2.3); pending sign-ins die with the codes, and with
# the password hash they carry when the password changed (signin.pending).
RULES = {
    "password_reset": (True, True, True),      # the "I was compromised" path
    "password_changed": (True, True, False),   # tokens only when the user asks
    "email_changed": (False, False, False),
    "deactivated": (True, True, True),
    "factors_reset": (True, True, False),      # a lost phone: sign in again from scratch
}


def credentials_revoke(*, user: User, reason: str, keep_session_key: str | None = None,
                       keep_device: TrustedDevice | None = None,
                       revoke_tokens: bool = False) -> None:
    """Revoke what ``reason`` revokes (one place decides it, issue 12); a change the user
    made keeps the session and the device they made it from. Call inside the change's
    transaction."""
    sessions, codes, tokens = RULES[reason]
    if sessions:
        sessions_end_all(user=user, keep_session_key=keep_session_key)
    trusted_devices_revoke_all(user=user, keep=keep_device, reason=reason)
    if codes:
        codes_revoke_all(user=user)
    if tokens or revoke_tokens:
        api_tokens_revoke_all(user=user, reason=reason)


def password_change(request: HttpRequest, *, user: User, current: object, new: object,
                    repeat: object, revoke_tokens: bool = False) -> dict[str, list[str]]:
    """Change the password from the unlocked section; errors by field, or {}. This session
    stays signed in (under a new key); the user's other sessions end, their other trusted
    devices and pending codes are revoked (and their API tokens when they ask:
    ``revoke_tokens``), and a notice is emailed."""
    errors: dict[str, list[str]] = {}
    info = RequestInfo.of(request)
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
        session_follow_auth_hash(old_key=old_key, request=request)
        credentials_revoke(user=user, reason="password_changed",
                           keep_session_key=request.session.session_key, keep_device=keep,
                           revoke_tokens=revoke_tokens)
        audit_log(event_type=EventType.PASSWORD_CHANGED, subject=user, actor=user, info=info,
                  extra={"tokens_revoked": revoke_tokens})
        if user.notify_password_changed:
            emails.send_password_changed(user=user, ip=info.ip,
                                         how="changed in the Security section")
    return {}


def password_reset_request(*, email: str, info: RequestInfo) -> None:
    """Forgot password (SPEC §2.7): queue the reset for this address. The request does the
    same work whether or not an account has it (the budgets, then one task with the address
    as typed); the worker looks the users up (``password_reset_send_all``), so neither the
    answer nor its timing tells anything about accounts."""
    email = email.strip()[:254]
    if not email or not policies.reset_request_allowed(email, info.ip):
        return
    password_reset_dispatch.using(queue_name="email").enqueue(email, info.ip,
                                                              info.user_agent)


@task(queue_name="email")
def password_reset_dispatch(email: str, ip: str, user_agent: str) -> int:
    """Forgot password, the worker's half (``password_reset_request``)."""
    return password_reset_send_all(email=email, info=RequestInfo.from_parts(ip, user_agent))


def password_reset_send_all(*, email: str, info: RequestInfo) -> int:
    """The worker's half: a reset link to every active user with this address that has a
    password. Returns how many were queued."""
    sent = 0
    with transaction.atomic():
        for user in User.objects.filter(email__iexact=email, is_active=True):
            if not user.has_usable_password():
                continue  # invited, never set a password: the invitation is the way in
            audit_log(event_type=EventType.PASSWORD_RESET_REQUESTED, subject=user, info=info)
            emails.send_password_reset(user=user, ip=info.ip)
            sent += 1
    return sent


def password_reset_complete(*, user: User, password: str, info: RequestInfo) -> None:
    """Set the new password from a reset link; end every session, revoke trusted devices,
    pending codes and API tokens (a reset is the "I was compromised" path), and tell the
    user. The user then signs in normally, code included; a pending sign-in started before
    dies (its password hash no longer matches)."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        credentials_revoke(user=user, reason="password_reset")
        policies.password_counters_clear(user.username_key)
        audit_log(event_type=EventType.PASSWORD_RESET_COMPLETED, subject=user, info=info)
        emails.send_password_changed(user=user, ip=info.ip, how="reset with an emailed link")


def invitation_accept(*, user: User, password: str, info: RequestInfo) -> None:
    """The first password, from an invitation link (SPEC §5); never a sign-in."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_log(event_type=EventType.PASSWORD_CHANGED, subject=user, actor=user, info=info,
                  extra={"via": "invitation"})


def password_reset_send(*, actor: User, target: User, info: RequestInfo) -> None:
    """An admin sends a user the reset email. The admin never sees the link or sets the
    password (SPEC §5)."""
    if not can_edit_permissions(actor, target):
        raise PermissionDenied
    if not target.is_active:
        raise ValidationError("Reactivate the user before sending a reset link.")
    if not policies.admin_mail_allowed(actor.pk, target.email):
        raise ValidationError("Too many invitations or reset links were sent by you or to "
                              f"{target.username} in the last hour. Try again later.")
    with transaction.atomic():
        if target.has_usable_password():
            audit_log(event_type=EventType.PASSWORD_RESET_REQUESTED, subject=target,
                      actor=actor, info=info)
            emails.send_password_reset(user=target, ip=info.ip)
        else:  # never set a password: the invitation is the way in
            audit_log(event_type=EventType.USER_INVITED, subject=target, actor=actor,
                      info=info)
            emails.send_invitation(user=target, invited_by=actor)


def user_unlock_by_operator(*, user: User) -> list[str]:
    """``loginguard unlock_user``: clear what keeps the user from signing in (password
    locks from every source, code-step locks, the codes-an-hour quota), audited
    ``via: cli``. What was cleared, in words."""
    with transaction.atomic():
        cleared = policies.user_locks_clear(username_key=user.username_key, user_id=user.pk,
                                            code_purposes=list(CodePurpose.values))
        audit_log(event_type=EventType.USER_UNLOCKED, subject=user, actor=None,
                  extra={"via": "cli", "cleared": cleared})
    return cleared


def factors_reset(*, actor: User | None, target: User, info: RequestInfo = NO_REQUEST,
                  via: str = "") -> None:
    """"Reset sign-in factors" (SPEC §14), for a user who lost every factor: their
    passkeys, authenticator apps and recovery codes are removed, every session ends and
    their trusted devices are revoked, and they are told by email. They sign in again with
    the password and an emailed code, and enrol again under their account's policy. A
    client admin for their users, a connected reseller user for the account's users, the
    operator's ``reset_factors`` (``actor`` None)."""
    if actor is not None and not can_edit_permissions(actor, target):
        raise PermissionDenied
    with transaction.atomic():
        removed = {"passkeys": Passkey.objects.filter(user=target).delete()[0],
                   "apps": AuthenticatorApp.objects.filter(user=target).delete()[0],
                   "recovery_codes": RecoveryCode.objects.filter(user=target).delete()[0]}
        credentials_revoke(user=target, reason="factors_reset")
        audit_log(event_type=EventType.FACTORS_RESET, subject=target, actor=actor, info=info,
                  extra={**removed, **({"via": via} if via else {})})
        emails.send_factors_reset(user=target, by=actor)
