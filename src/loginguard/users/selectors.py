"""Reads of users that the hot paths need (the sign-in's first query)."""

from __future__ import annotations

from functools import cache

from loginguard.lib import rows
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.users.models import User


@cache
def _sql() -> str:
    # Table and column names from the model, values only as parameters.
    return (f"SELECT {rows.columns(User, 'u')}, {rows.columns(ClientAccount, 'a')}, "  # noqa: S608
            f"{rows.columns(Reseller, 'r')} FROM {User._meta.db_table} u "
            f"LEFT JOIN {ClientAccount._meta.db_table} a ON a.id = u.account_id "
            f"LEFT JOIN {Reseller._meta.db_table} r ON r.id = u.reseller_id "
            "WHERE u.username_key = %s")


def user_for_sign_in(key: str) -> User | None:
    """The user with this username key, with their account and reseller loaded (one
    indexed query), or None."""
    found = rows.fetch(_sql(), [key])
    if not found:
        return None
    row = found[0]
    user = rows.instance(User, row)
    account_at = rows.width(User)
    reseller_at = account_at + rows.width(ClientAccount)
    user.account = rows.instance(ClientAccount, row, account_at) \
        if user.account_id is not None else None
    user.reseller = rows.instance(Reseller, row, reseller_at) \
        if user.reseller_id is not None else None
    return user
