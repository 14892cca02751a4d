"""The only way views reach tenant data (Zulip's ``access_*`` guards). Each raises
``Http404`` both when the object does not exist and when it belongs to someone the actor
may not see, so an id in a URL reveals nothing about other tenants."""

from __future__ import annotations

from django.http import Http404

from loginguard.access.rules import (
    can_administer,
    reseller_accounts,
    visible_accounts,
)
from loginguard.lib.ids import parse_id
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User, UserKind


def _id(raw: object) -> int:
    pk = parse_id(raw)
    if pk is None:
        raise Http404
    return pk


def access_account_by_id(actor: User, account_id: object) -> ClientAccount:
    """A client account the actor acts in (their own; a connected one of their reseller)."""
    account = visible_accounts(actor).filter(pk=_id(account_id)).first()
    if account is None:
        raise Http404
    return account


def access_administered_account(actor: User, account_id: object) -> ClientAccount:
    """A client account the actor administers (Manage users)."""
    account = access_account_by_id(actor, account_id)
    if not can_administer(actor, account):
        raise Http404
    return account


def access_user_by_id(actor: User, user_id: object) -> User:
    """A user record the actor may open: themselves, or a user of an account they
    administer. Client users see only themselves."""
    pk = _id(user_id)
    if pk == actor.pk:
        return actor
    target = User.objects.select_related("account", "reseller").filter(
        pk=pk, kind=UserKind.CLIENT).first()
    if target is None or target.account is None or not can_administer(actor, target.account):
        raise Http404
    return target


def access_account_user(actor: User, account: ClientAccount, user_id: object) -> User:
    """A user of an account the actor administers (the account page's actions)."""
    if not can_administer(actor, account):
        raise Http404
    target = User.objects.select_related("account", "reseller").filter(
        pk=_id(user_id), account=account).first()
    if target is None:
        raise Http404
    return target


def access_reseller(actor: User) -> int:
    """The reseller id of a reseller user; the gateway does not exist for anybody else."""
    if actor.kind != UserKind.RESELLER or actor.reseller_id is None:
        raise Http404
    return actor.reseller_id


def access_gateway_account(actor: User, account_id: object) -> ClientAccount:
    """A client account of the actor's reseller, connected or not (the gateway)."""
    access_reseller(actor)
    account = reseller_accounts(actor).filter(pk=_id(account_id)).first()
    if account is None:
        raise Http404
    return account


def access_reseller_user(actor: User, user_id: object) -> User:
    """A reseller user of the actor's own reseller (to connect or disconnect)."""
    reseller_id = access_reseller(actor)
    user = User.objects.filter(pk=_id(user_id), kind=UserKind.RESELLER,
                               reseller_id=reseller_id).first()
    if user is None:
        raise Http404
    return user
