"""Reads of users that the hot paths need: the sign-in's first query, and the user of
every signed-in request (one statement each, lib/rows.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

from loginguard.lib import rows
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.users.models import User

# The columns the sign-in and the pages read of a user, their account and their reseller
# (named: a column added to a model is not read here until it is named).
USER = rows.Picked(User, "u", (
    "id", "password", "last_login", "username", "username_key", "email", "first_name",
    "last_name", "phone", "time_zone", "kind", "account_id", "reseller_id",
    "is_client_admin", "is_active", "date_joined", "notify_new_device",
    "notify_password_changed", "notify_token_created", "notify_code_lockout",
    "links_invalidated_at"))
TENANT_FIELDS = ("id", "name", "is_active", "ip_match")
ACCOUNT = rows.Picked(ClientAccount, "a", (*TENANT_FIELDS, "reseller_id", "factor_policy",
                                           "admin_factor_policy"))
RESELLER = rows.Picked(Reseller, "r", (*TENANT_FIELDS, "factor_policy"))
# The account's reseller: its name (the password rules, the apps' claims) and its default
# factor level for accounts.
ACCOUNT_RESELLER = rows.Picked(Reseller, "ar", (*TENANT_FIELDS, "accounts_factor_policy"))


PARTS = (USER, ACCOUNT, RESELLER, ACCOUNT_RESELLER)


def user_columns() -> str:
    """The select list of a user with their account, their reseller and their account's
    reseller (aliases u, a, r, ar; see ``user_joins``), for ``user_from_row``."""
    return ", ".join(part.sql for part in PARTS)


def user_width() -> int:
    return sum(part.width for part in PARTS)


@cache
def user_joins() -> str:
    """The joins that ``user_columns`` reads from, after ``users_user u``."""
    return (f"LEFT JOIN {ClientAccount._meta.db_table} a ON a.id = u.account_id "
            f"LEFT JOIN {Reseller._meta.db_table} r ON r.id = u.reseller_id "
            f"LEFT JOIN {Reseller._meta.db_table} ar ON ar.id = a.reseller_id")


def user_from_row(row: tuple[Any, ...], start: int = 0) -> User:
    """The user whose columns start at ``row[start]``, with their tenants attached."""
    user = USER.build(row, start)
    at = start + USER.width
    user.account = ACCOUNT.none_if_null(row, at)
    at += ACCOUNT.width
    user.reseller = RESELLER.none_if_null(row, at)
    at += RESELLER.width
    if user.account is not None:
        user.account.reseller = ACCOUNT_RESELLER.none_if_null(row, at)
    return user


@cache
def _sql() -> str:
    # Table and column names from the model, values only as parameters.
    return (f"SELECT {user_columns()} FROM {User._meta.db_table} u {user_joins()} "  # noqa: S608
            "WHERE u.username_key = %s")


def user_for_sign_in(key: str) -> User | None:
    """The user with this username key, with their account and reseller loaded (one
    indexed query), or None."""
    found = rows.fetch(_sql(), [key])
    return user_from_row(found[0]) if found else None


@cache
def _by_id_sql() -> str:
    return (f"SELECT {user_columns()} FROM {User._meta.db_table} u {user_joins()} "  # noqa: S608
            "WHERE u.id = %s")


def user_by_id(user_id: object) -> User | None:
    """The user with this primary key, with their account and reseller loaded (one
    indexed query), or None; an id that is not an integer finds nobody. Every page of a
    signed-in session and every step of a pending sign-in reads its user this way."""
    try:
        pk = int(str(user_id))
    except ValueError:
        return None
    found = rows.fetch(_by_id_sql(), [pk])
    return user_from_row(found[0]) if found else None
