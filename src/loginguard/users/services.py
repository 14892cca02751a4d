from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from loginguard.audit.events import EventType
from loginguard.audit.services import record
from loginguard.emails import kinds as emails
from loginguard.throttle import policies
from loginguard.users.models import User, UserKind, username_key
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
        record(event_type=EventType.USER_CREATED, subject=user, actor=actor,
               extra={"admin": is_client_admin, "invited": invite})
        if invite:
            user_invite(user=user, actor=actor)
    return user


def user_invite(*, user: User, actor: User | None = None) -> None:
    with transaction.atomic():
        record(event_type=EventType.USER_INVITED, subject=user, actor=actor)
        emails.send_invitation(user=user, invited_by=actor)
