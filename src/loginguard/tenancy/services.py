from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from loginguard.audit.events import EventType
from loginguard.audit.services import record
from loginguard.tenancy.models import ClientAccount, Connection, Reseller

if TYPE_CHECKING:
    from loginguard.users.models import User


def _clean_name(name: str, what: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError(f"The {what} name can't be empty.")
    if len(name) > 120:
        raise ValidationError(f"The {what} name is too long: use at most 120 characters.")
    return name


def reseller_create(*, name: str, actor: User | None = None) -> Reseller:
    name = _clean_name(name, "reseller")
    with transaction.atomic():
        if Reseller.objects.filter(name__iexact=name).exists():
            raise ValidationError(f"A reseller named {name!r} already exists.")
        reseller = Reseller.objects.create(name=name)
        record(event_type=EventType.RESELLER_CREATED, actor=actor, reseller=reseller,
               extra={"name": name})
    return reseller


def account_create(*, name: str, reseller: Reseller | None = None,
                   actor: User | None = None) -> ClientAccount:
    name = _clean_name(name, "account")
    with transaction.atomic():
        if ClientAccount.objects.filter(name__iexact=name).exists():
            raise ValidationError(f"A client account named {name!r} already exists.")
        account = ClientAccount.objects.create(name=name, reseller=reseller)
        record(event_type=EventType.ACCOUNT_CREATED, actor=actor, account=account,
               reseller=reseller, extra={"name": name})
    return account


def connection_create(*, user: User, account: ClientAccount,
                      actor: User | None = None) -> Connection:
    if user.kind != "reseller":
        raise ValidationError(f"{user.username} is not a reseller user; only reseller users "
                              "can be connected to client accounts.")
    if account.reseller_id is None or account.reseller_id != user.reseller_id:
        raise ValidationError(f"{account.name} is not a client account of "
                              f"{user.username}'s reseller.")
    try:
        with transaction.atomic():
            connection, created = Connection.objects.get_or_create(user=user, account=account)
            if created:
                record(event_type=EventType.USER_CONNECTED, subject=user, actor=actor,
                       account=account, extra={"account": account.name})
    except IntegrityError as exc:  # the database trigger's last word
        raise ValidationError(str(exc)) from None
    return connection


def connection_delete(*, user: User, account: ClientAccount, actor: User | None = None) -> None:
    with transaction.atomic():
        deleted, _ = Connection.objects.filter(user=user, account=account).delete()
        if deleted:
            record(event_type=EventType.USER_DISCONNECTED, subject=user, actor=actor,
                   account=account, extra={"account": account.name})
