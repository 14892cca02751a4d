"""Who may read which security log: written once, used by the Security section, the
account log page and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from loginguard.access.rules import can_administer
from loginguard.audit.models import AuditEvent
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User


def own_security_log(user: User) -> QuerySet[AuditEvent]:
    """A user's own security log (their Security section; the API for non-admins)."""
    return AuditEvent.objects.filter(subject=user).select_related("actor")


def account_security_log(actor: User, account: ClientAccount) -> QuerySet[AuditEvent]:
    """An account's security log, for those who administer it; nothing for anybody else."""
    if not can_administer(actor, account):
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(account=account).select_related("subject", "actor")


def security_log_visible_to(actor: User) -> QuerySet[AuditEvent]:
    """The API's log: the account's for its admins, otherwise the actor's own."""
    if actor.account is not None and can_administer(actor, actor.account):
        return account_security_log(actor, actor.account)
    return own_security_log(actor).select_related("subject")
