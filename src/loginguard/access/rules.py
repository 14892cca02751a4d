"""Tenant rules (SPEC §1, §3, §5, §11, §12): who may sign in, what role they have, which
accounts they reach, whom they administer. Pure questions: no writes, no 404s."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from loginguard.tenancy.models import ClientAccount, Connection
from loginguard.users.models import User, UserKind

ROLES = ("client_admin", "client_user", "reseller_user")


def may_sign_in(user: Any) -> bool:
    """Active, in an active client account or reseller: the rule of every sign-in, every
    session's next request, every token. Anything else (an AnonymousUser) may not."""
    if user is None or not getattr(user, "is_active", False):
        return False
    if user.account_id is not None and not user.account.is_active:
        return False
    return not (user.reseller_id is not None and not user.reseller.is_active)


def role_of(user: User) -> str:
    """``client_admin``, ``client_user`` or ``reseller_user``: what apps and proxies see."""
    if user.kind == UserKind.RESELLER:
        return "reseller_user"
    return "client_admin" if user.is_client_admin else "client_user"


def visible_accounts(actor: User) -> QuerySet[ClientAccount]:
    """The active client accounts the actor acts in: their own, or, for a reseller user,
    those of their reseller they are connected to."""
    if actor.account_id is not None:
        return ClientAccount.objects.filter(pk=actor.account_id, is_active=True)
    if actor.reseller_id is None:
        return ClientAccount.objects.none()
    return ClientAccount.objects.filter(reseller_id=actor.reseller_id,
                                        connections__user=actor, is_active=True)


def reseller_accounts(actor: User) -> QuerySet[ClientAccount]:
    """Every client account of the actor's reseller (the gateway's list), connected or not,
    active or suspended; nothing for anybody else."""
    if actor.kind != UserKind.RESELLER or actor.reseller_id is None:
        return ClientAccount.objects.none()
    return ClientAccount.objects.filter(reseller_id=actor.reseller_id)


def belongs_to(user: User, account_id: int) -> bool:
    """The user acts in this client account: a user of it, or a reseller user of its
    reseller connected to it (an account's app admits them; X-Auth-Require account=)."""
    if user.account_id is not None:
        return user.account_id == account_id
    return visible_accounts(user).filter(pk=account_id).exists()


def can_administer(actor: User, account: ClientAccount) -> bool:
    """Client admins of the account, and reseller users connected to it."""
    if actor.kind == UserKind.CLIENT:
        return actor.is_client_admin and actor.account_id == account.pk
    if actor.reseller_id is None or account.reseller_id != actor.reseller_id:
        return False
    return Connection.objects.filter(user=actor, account=account).exists()


def administers(actor: User, target: User) -> bool:
    return target.account is not None and can_administer(actor, target.account)


def can_edit_details(actor: User, target: User) -> bool:
    return actor.pk == target.pk or administers(actor, target)


def can_edit_permissions(actor: User, target: User) -> bool:
    # Nobody changes their own role or active flag: another admin has to.
    return actor.pk != target.pk and administers(actor, target)


def can_edit_notifications(actor: User, target: User) -> bool:
    # Client users who are not admins see this tab read-only (help page); a reseller
    # user has no admin above them in the account, so they manage their own.
    if actor.pk == target.pk and actor.kind == UserKind.RESELLER:
        return True
    return administers(actor, target)


def visible_users(actor: User) -> QuerySet[User]:
    """The users an actor sees in their account's lists (the API's /users): a client user
    only themselves, a client admin the account's users."""
    users = User.objects.select_related("account")
    if actor.account is not None and can_administer(actor, actor.account):
        return users.filter(account_id=actor.account_id)
    return users.filter(pk=actor.pk)
