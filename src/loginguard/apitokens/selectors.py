"""The API's token lookup: token, user and account in one indexed query."""

from __future__ import annotations

from functools import cache

from loginguard.apitokens.models import ApiToken
from loginguard.lib import rows
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User


@cache
def _sql() -> str:
    # Table and column names from the model, values only as parameters.
    return (f"SELECT {rows.columns(ApiToken, 't')}, {rows.columns(User, 'u')}, "  # noqa: S608
            f"{rows.columns(ClientAccount, 'a')} FROM {ApiToken._meta.db_table} t "
            f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
            f"LEFT JOIN {ClientAccount._meta.db_table} a ON a.id = u.account_id "
            "WHERE t.token_hash = %s")


def token_by_hash(digest: str) -> ApiToken | None:
    found = rows.fetch(_sql(), [digest])
    if not found:
        return None
    row = found[0]
    token = rows.instance(ApiToken, row)
    user = rows.instance(User, row, rows.width(ApiToken))
    if user.account_id is not None:
        user.account = rows.instance(ClientAccount, row,
                                     rows.width(ApiToken) + rows.width(User))
    token.user = user
    return token
