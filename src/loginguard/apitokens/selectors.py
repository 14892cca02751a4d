"""The API's token lookup: token, user and account in one indexed query."""

from __future__ import annotations

from functools import cache

from loginguard.apitokens.models import ApiToken
from loginguard.lib import rows
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User

TOKEN = rows.Picked(ApiToken, "t", (
    "id", "user_id", "name", "token_hash", "display_prefix", "created_at", "expires_at",
    "last_used_at", "last_used_ip", "revoked_at"))
# What the API answers about its user (MeOut) and checks (active, kind, tenant).
USER = rows.Picked(User, "u", (
    "id", "username", "email", "first_name", "last_name", "phone", "time_zone", "kind",
    "account_id", "reseller_id", "is_client_admin", "is_active"))
ACCOUNT = rows.Picked(ClientAccount, "a", ("id", "name", "is_active", "ip_match",
                                           "reseller_id"))


@cache
def _sql() -> str:
    # Table and column names from the model, values only as parameters.
    return (f"SELECT {TOKEN.sql}, {USER.sql}, {ACCOUNT.sql} "  # noqa: S608
            f"FROM {ApiToken._meta.db_table} t "
            f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
            f"LEFT JOIN {ClientAccount._meta.db_table} a ON a.id = u.account_id "
            "WHERE t.token_hash = %s")


def token_by_hash(digest: str) -> ApiToken | None:
    found = rows.fetch(_sql(), [digest])
    if not found:
        return None
    row = found[0]
    token = TOKEN.build(row)
    token.user = USER.build(row, TOKEN.width)
    token.user.account = ACCOUNT.none_if_null(row, TOKEN.width + USER.width)
    return token
