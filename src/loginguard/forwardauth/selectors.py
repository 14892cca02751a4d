"""The one read of forward auth's fast path: a stored session with the user it belongs to
(through the UserSession row every sign-in writes) and the tenant flags its checks need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import Model

from loginguard.lib import rows
from loginguard.signin.models import UserSession
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.users.models import User
from loginguard.users.selectors import user_joins

# Only what the checks and the answer read: the rest of each row stays deferred (Django's
# documented Model.from_db), which keeps the read and the instances small on a path a
# proxy takes for every request.
USER_FIELDS = ("id", "password", "username", "email", "kind", "account_id", "reseller_id",
               "is_client_admin", "is_active")
TENANT_FIELDS = ("id", "is_active", "ip_match")


@dataclass(frozen=True)
class StoredSession:
    data: str  # as stored: signed and encoded by Django's session store
    user: User | None  # None: no UserSession row for this key (the full stack decides)


def _select(model: type[Model], alias: str, fields: tuple[str, ...]) -> str:
    columns = {field.attname: field.column for field in model._meta.concrete_fields}
    return ", ".join(f'{alias}."{columns[name]}"' for name in fields)


@cache
def _sql() -> str:
    return (f"SELECT s.session_data, {_select(User, 'u', USER_FIELDS)}, "  # noqa: S608
            f"{_select(ClientAccount, 'a', TENANT_FIELDS)}, "
            f"{_select(Reseller, 'r', TENANT_FIELDS)} "
            f"FROM {Session._meta.db_table} s "
            f"LEFT JOIN {UserSession._meta.db_table} us ON us.session_key = s.session_key "
            f"LEFT JOIN {User._meta.db_table} u ON u.id = us.user_id {user_joins()} "
            "WHERE s.session_key = %s AND s.expire_date > %s")


def stored_session(key: str, now: datetime) -> StoredSession | None:
    """The unexpired session with this key, or None (one indexed query)."""
    found = rows.fetch(_sql(), [key, now])
    if not found:
        return None
    row = found[0]
    if row[1] is None:
        return StoredSession(data=row[0], user=None)
    at = 1 + len(USER_FIELDS)
    user = User.from_db(connection.alias, USER_FIELDS, row[1:at])
    account = row[at:at + len(TENANT_FIELDS)]
    reseller = row[at + len(TENANT_FIELDS):]
    user.account = (ClientAccount.from_db(connection.alias, TENANT_FIELDS, account)
                    if user.account_id is not None else None)
    user.reseller = (Reseller.from_db(connection.alias, TENANT_FIELDS, reseller)
                     if user.reseller_id is not None else None)
    return StoredSession(data=row[0], user=user)
