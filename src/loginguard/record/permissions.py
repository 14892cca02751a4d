"""Who may do what on a user record (SPEC §3, §5). Views hide what these refuse, and the
services check them again: the page is never the only guard."""

from __future__ import annotations

from loginguard.tenancy.access import can_administer
from loginguard.users.models import User, UserKind


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
