"""The only way views reach tenant data (Zulip's access_* guards).

Each guard raises ``Http404`` both when the object does not exist and when it belongs to
someone the actor may not see, so an id in a URL reveals nothing about other tenants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from loginguard.lib.ids import parse_id
from loginguard.tenancy.models import ClientAccount, Connection
from loginguard.users.models import UserKind

if TYPE_CHECKING:
    from loginguard.users.models import User


def accounts_for(actor: User) -> QuerySet[ClientAccount]:
    """Client accounts the actor may open: their own, or, for a reseller user, those of
    their reseller they are connected to."""
    if actor.account_id is not None:
        return ClientAccount.objects.filter(pk=actor.account_id, is_active=True)
    if actor.reseller_id is None:
        return ClientAccount.objects.none()
    return ClientAccount.objects.filter(
        reseller_id=actor.reseller_id, connections__user=actor, is_active=True
    )


def access_account_by_id(actor: User, account_id: object) -> ClientAccount:
    pk = parse_id(account_id)
    account = accounts_for(actor).filter(pk=pk).first() if pk else None
    if account is None:
        raise Http404
    return account


def reseller_accounts(actor: User) -> QuerySet[ClientAccount]:
    """Every client account of the actor's reseller (the gateway's list)."""
    if actor.reseller_id is None:
        return ClientAccount.objects.none()
    return ClientAccount.objects.filter(reseller_id=actor.reseller_id)


def can_administer(actor: User, account: ClientAccount) -> bool:
    """Client admins of the account, and reseller users connected to it."""
    if actor.kind == UserKind.CLIENT:
        return actor.is_client_admin and actor.account_id == account.pk
    if actor.reseller_id is None or account.reseller_id != actor.reseller_id:
        return False
    return Connection.objects.filter(user=actor, account=account).exists()


def access_user_by_id(actor: User, user_id: object) -> User:
    """A user record the actor may open: themselves, or a user of an account they
    administer. Client users see only themselves."""
    from loginguard.users.models import User

    pk = parse_id(user_id)
    if pk is None:
        raise Http404
    if pk == actor.pk:
        return actor
    try:
        target = User.objects.select_related("account", "reseller").get(pk=pk, kind=UserKind.CLIENT)
    except User.DoesNotExist:
        raise Http404 from None
    if target.account is None or not can_administer(actor, target.account):
        raise Http404
    return target
