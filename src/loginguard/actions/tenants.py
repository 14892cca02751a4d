"""Writes to resellers, client accounts and connections (SPEC §1, §2.2, §5)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from loginguard.access.rules import can_administer
from loginguard.actions.users import user_create
from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.devices.request_info import NO_REQUEST, RequestInfo
from loginguard.emails import kinds as emails
from loginguard.factors.policy import LABELS, satisfies
from loginguard.factors.registry import enrolled
from loginguard.signin.sessions import sessions_end_all
from loginguard.tenancy.models import (
    INHERIT,
    ClientAccount,
    Connection,
    FactorLevel,
    IpMatch,
    Reseller,
)
from loginguard.tenancy.policy import factor_level_for
from loginguard.users.models import User, UserKind
from loginguard.users.validators import charset_error


def _clean_name(name: object, what: str) -> str:
    name = " ".join(name.split()) if isinstance(name, str) else ""
    if not name:
        raise ValidationError(f"The {what} name can't be empty.")
    if len(name) > 120:
        raise ValidationError(f"The {what} name is too long: use at most 120 characters.")
    problem = charset_error(name, username=False)
    if problem:
        raise ValidationError(f"The {what} name: {problem}")
    return name


def reseller_create(*, name: str, actor: User | None = None) -> Reseller:
    name = _clean_name(name, "reseller")
    with transaction.atomic():
        if Reseller.objects.filter(name__iexact=name).exists():
            raise ValidationError(f"A reseller named {name!r} already exists.")
        reseller = Reseller.objects.create(name=name)
        audit_log(event_type=EventType.RESELLER_CREATED, actor=actor, reseller=reseller,
                  extra={"name": name})
    return reseller


def account_create(*, name: str, reseller: Reseller | None = None,
                   actor: User | None = None) -> ClientAccount:
    name = _clean_name(name, "account")
    with transaction.atomic():
        if ClientAccount.objects.filter(name__iexact=name).exists():
            # Names are unique installation-wide; say no more than that (not whose).
            raise ValidationError("That account name is not available: choose another.")
        account = ClientAccount.objects.create(name=name, reseller=reseller)
        audit_log(event_type=EventType.ACCOUNT_CREATED, actor=actor, account=account,
                  reseller=reseller, extra={"name": name})
    return account


def connection_create(*, user: User, account: ClientAccount,
                      actor: User | None = None) -> Connection:
    if user.kind != UserKind.RESELLER:
        raise ValidationError(f"{user.username} is not a reseller user; only reseller users "
                              "can be connected to client accounts.")
    if account.reseller_id is None or account.reseller_id != user.reseller_id:
        raise ValidationError(f"{account.name} is not a client account of "
                              f"{user.username}'s reseller.")
    try:
        with transaction.atomic():
            connection, created = Connection.objects.get_or_create(user=user, account=account)
            if created:
                audit_log(event_type=EventType.USER_CONNECTED, subject=user, actor=actor,
                          account=account, extra={"account": account.name})
    except IntegrityError as exc:  # the database trigger's last word
        raise ValidationError(str(exc)) from None
    return connection


def connection_delete(*, user: User, account: ClientAccount, actor: User | None = None) -> None:
    with transaction.atomic():
        deleted, _ = Connection.objects.filter(user=user, account=account).delete()
        if deleted:
            audit_log(event_type=EventType.USER_DISCONNECTED, subject=user, actor=actor,
                      account=account, extra={"account": account.name})


def account_create_with_admin(*, actor: User, name: str, admin_username: str,
                              admin_email: str) -> ClientAccount:
    """Gateway: a reseller user creates a client account of their reseller together with
    its first client admin, who is invited by email."""
    if actor.kind != UserKind.RESELLER or actor.reseller is None:
        raise PermissionDenied
    with transaction.atomic():
        account = account_create(name=name, reseller=actor.reseller, actor=actor)
        user_create(username=admin_username, email=admin_email, account=account,
                    is_client_admin=True, invite=True, actor=actor)
        connection_create(user=actor, account=account, actor=actor)
    return account


def account_set_ip_policy(*, actor: User, account: ClientAccount, policy: str,
                          info: RequestInfo = NO_REQUEST) -> None:
    if not can_administer(actor, account):
        raise PermissionDenied
    _ip_policy_write(target=account, policy=policy, actor=actor, info=info)


def reseller_set_ip_policy(*, actor: User, reseller: Reseller, policy: str,
                           info: RequestInfo = NO_REQUEST) -> None:
    """The policy of the reseller's own users (their trusted devices and sessions), set by
    one of them in the gateway."""
    if actor.reseller_id != reseller.pk:
        raise PermissionDenied
    _ip_policy_write(target=reseller, policy=policy, actor=actor, info=info)


def ip_policy_set_by_operator(*, target: ClientAccount | Reseller, policy: str) -> bool:
    """``loginguard set_ip_policy``: no user acts; audited ``via: cli``. Whether it
    changed."""
    return _ip_policy_write(target=target, policy=policy, actor=None, info=NO_REQUEST,
                            via="cli")


def _ip_policy_write(*, target: ClientAccount | Reseller, policy: str, actor: User | None,
                     info: RequestInfo, via: str = "") -> bool:
    if policy not in IpMatch.values:
        raise ValidationError("Choose exact, network or off.")
    if target.ip_match == policy:
        return False
    extra = {"from": target.ip_match, "to": policy, **({"via": via} if via else {})}
    with transaction.atomic():
        type(target).objects.filter(pk=target.pk).update(ip_match=policy)
        target.ip_match = policy
        if isinstance(target, ClientAccount):
            audit_log(event_type=EventType.ACCOUNT_IP_POLICY_CHANGED, actor=actor,
                      account=target, reseller=target.reseller, info=info, extra=extra)
        else:
            audit_log(event_type=EventType.RESELLER_IP_POLICY_CHANGED, actor=actor,
                      reseller=target, info=info, extra=extra)
    return True


def account_rename(*, account: ClientAccount, name: str, actor: User | None = None,
                   via: str = "", info: RequestInfo = NO_REQUEST) -> None:
    """A new name for a client account (unique, ignoring case; audited with both)."""
    name = _clean_name(name, "client account")
    if name == account.name:
        return
    with transaction.atomic():
        if ClientAccount.objects.filter(name__iexact=name).exclude(pk=account.pk).exists():
            raise ValidationError(f"A client account named {name!r} already exists.")
        old = account.name
        ClientAccount.objects.filter(pk=account.pk).update(name=name)
        account.name = name
        audit_log(event_type=EventType.ACCOUNT_RENAMED, actor=actor, account=account,
                  reseller=account.reseller, info=info,
                  extra={"from": old, "to": name, **({"via": via} if via else {})})


def account_set_active(*, account: ClientAccount, active: bool, actor: User | None = None,
                       via: str = "") -> int:
    """Suspend or resume a client account. Suspending ends its users' sessions for good:
    resuming brings no old session back (they sign in again, code included). Returns how
    many sessions ended."""
    return _set_active(account, active, users=User.objects.filter(account=account),
                       events=(EventType.ACCOUNT_RESUMED, EventType.ACCOUNT_SUSPENDED),
                       actor=actor, via=via, account=account, reseller=account.reseller)


def reseller_set_active(*, reseller: Reseller, active: bool, actor: User | None = None,
                        via: str = "") -> int:
    """Suspend or resume a reseller: its reseller users' sessions end for good on
    suspension (its client accounts are suspended one by one, if at all)."""
    return _set_active(reseller, active, users=User.objects.filter(reseller=reseller),
                       events=(EventType.RESELLER_RESUMED, EventType.RESELLER_SUSPENDED),
                       actor=actor, via=via, account=None, reseller=reseller)


def _set_active(tenant: ClientAccount | Reseller, active: bool, *, users: QuerySet[User],
                events: tuple[EventType, EventType], actor: User | None, via: str,
                account: ClientAccount | None, reseller: Reseller | None) -> int:
    if tenant.is_active == active:
        return 0
    ended = 0
    with transaction.atomic():
        type(tenant).objects.filter(pk=tenant.pk).update(is_active=active)
        tenant.is_active = active
        if not active:  # the sessions end with the suspension, in its transaction
            for user in users:
                ended += sessions_end_all(user=user)
        audit_log(event_type=events[0] if active else events[1], actor=actor,
                  account=account, reseller=reseller,
                  extra={"sessions_ended": ended, **({"via": via} if via else {})})
    return ended


# --- factor policies (SPEC §14) ------------------------------------------------------------

ACCOUNT_FIELDS = ("factor_policy", "admin_factor_policy")  # "" inherits / same as users
RESELLER_FIELDS = ("factor_policy", "accounts_factor_policy")


def account_set_factor_policy(*, actor: User, account: ClientAccount, level: str,
                              admin_level: str, info: RequestInfo = NO_REQUEST) -> bool:
    """A client account's level ("" for its reseller's default) and a stricter one for
    its admins ("" for the same), set by those who administer it."""
    if not can_administer(actor, account):
        raise PermissionDenied
    return _factor_policy_write(target=account, changes={
        "factor_policy": level, "admin_factor_policy": admin_level}, actor=actor, info=info)


def reseller_set_factor_policy(*, actor: User, reseller: Reseller, level: str,
                               accounts_level: str, info: RequestInfo = NO_REQUEST) -> bool:
    """The level of the reseller's own users, and the default of its client accounts, set
    by one of its reseller users in the gateway."""
    if actor.reseller_id != reseller.pk:
        raise PermissionDenied
    return _factor_policy_write(target=reseller, changes={
        "factor_policy": level, "accounts_factor_policy": accounts_level}, actor=actor,
        info=info)


def factor_policy_set_by_operator(*, target: ClientAccount | Reseller,
                                  changes: dict[str, str]) -> bool:
    """``loginguard set_factor_policy``: audited ``via: cli``. Whether anything changed."""
    return _factor_policy_write(target=target, changes=changes, actor=None, info=NO_REQUEST,
                                via="cli")


def _affected(target: ClientAccount | Reseller) -> QuerySet[User]:
    users = User.objects.select_related("account__reseller", "reseller")
    if isinstance(target, ClientAccount):
        return users.filter(account=target)
    return users.filter(Q(reseller=target) | Q(account__reseller=target))


def _factor_policy_write(*, target: ClientAccount | Reseller, changes: dict[str, str],
                         actor: User | None, info: RequestInfo, via: str = "") -> bool:
    allowed = ACCOUNT_FIELDS if isinstance(target, ClientAccount) else RESELLER_FIELDS
    for field, value in changes.items():
        inherits = isinstance(target, ClientAccount) and value == INHERIT
        if field not in allowed or not (inherits or value in FactorLevel.values):
            raise ValidationError("Choose email, app_or_passkey or passkey.")
    changed = {k: v for k, v in changes.items() if getattr(target, k) != v}
    if not changed:
        return False
    before = {user.pk: factor_level_for(user) for user in _affected(target)}
    extra: dict[str, object] = {field: {"from": getattr(target, field), "to": value}
                                for field, value in changed.items()}
    with transaction.atomic():
        type(target).objects.filter(pk=target.pk).update(**changed)
        for field, value in changed.items():
            setattr(target, field, value)
        if isinstance(target, ClientAccount):
            audit_log(event_type=EventType.ACCOUNT_FACTOR_POLICY_CHANGED, actor=actor,
                      account=target, reseller=target.reseller, info=info,
                      extra={**extra, **({"via": via} if via else {})})
        else:
            audit_log(event_type=EventType.RESELLER_FACTOR_POLICY_CHANGED, actor=actor,
                      reseller=target, info=info,
                      extra={**extra, **({"via": via} if via else {})})
        for user in _affected(target):  # told when what they must prove changed
            level = factor_level_for(user)
            if level != before.get(user.pk, level):
                emails.send_factor_policy(user=user, level=level, label=LABELS[level],
                                          ready=satisfies(enrolled(user), level))
    return True
