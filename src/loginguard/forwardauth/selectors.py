"""The one read of forward auth's fast path: a stored session with the user it belongs to
(through the UserSession row every sign-in writes) and the tenant flags its checks need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.contrib.sessions.models import Session

from loginguard.lib import rows
from loginguard.signin.models import UserSession
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.users.models import User
from loginguard.users.selectors import user_joins

# Only what the checks and the answer read: the rest of each row stays deferred, which
# keeps the read and the instances small on a path a proxy takes for every request.
USER = rows.Picked(User, "u", ("id", "password", "username", "email", "kind", "account_id",
                               "reseller_id", "is_client_admin", "is_active"))
TENANT_FIELDS = ("id", "is_active", "ip_match")
ACCOUNT = rows.Picked(ClientAccount, "a", TENANT_FIELDS)
RESELLER = rows.Picked(Reseller, "r", TENANT_FIELDS)


@dataclass(frozen=True)
class StoredSession:
    data: str  # as stored: signed and encoded by Django's session store
    user: User | None  # None: no UserSession row for this key (the full stack decides)


@cache
def _sql() -> str:
    return (f"SELECT s.session_data, {USER.sql}, {ACCOUNT.sql}, {RESELLER.sql} "  # noqa: S608
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
    user = USER.none_if_null(row, 1)
    if user is not None:
        user.account = ACCOUNT.none_if_null(row, 1 + USER.width)
        user.reseller = RESELLER.none_if_null(row, 1 + USER.width + ACCOUNT.width)
    return StoredSession(data=row[0], user=user)
