"""Reads of users that the hot paths need (the sign-in's first query)."""

from __future__ import annotations

from functools import cache
from typing import Any

from loginguard.lib import rows
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.users.models import User


@cache
def user_columns() -> str:
    """The select list of a user with their account and reseller (aliases u, a, r; see
    ``USER_JOINS``), for ``user_from_row``."""
    return (f"{rows.columns(User, 'u')}, {rows.columns(ClientAccount, 'a')}, "
            f"{rows.columns(Reseller, 'r')}")


@cache
def user_joins() -> str:
    """The joins that ``user_columns`` reads from, after ``users_user u``."""
    return (f"LEFT JOIN {ClientAccount._meta.db_table} a ON a.id = u.account_id "
            f"LEFT JOIN {Reseller._meta.db_table} r ON r.id = u.reseller_id")


def user_from_row(row: tuple[Any, ...], start: int = 0) -> User:
    user = rows.instance(User, row, start)
    account_at = start + rows.width(User)
    reseller_at = account_at + rows.width(ClientAccount)
    user.account = rows.instance(ClientAccount, row, account_at) \
        if user.account_id is not None else None
    user.reseller = rows.instance(Reseller, row, reseller_at) \
        if user.reseller_id is not None else None
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
