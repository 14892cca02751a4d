from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loginguard.tenancy.models import ClientAccount
    from loginguard.users.models import User


def ip_policy_for(user: User) -> str:
    """The IP-match policy that governs this user's devices and sessions: their client
    account's, or their reseller's for reseller users (SPEC §2.2)."""
    if user.account is not None:
        return user.account.ip_match
    if user.reseller is not None:
        return user.reseller.ip_match
    return "exact"


LEVELS = ("email", "app_or_passkey", "passkey")  # FactorLevel's values, laxest first


def stricter(a: str, b: str) -> str:
    return a if LEVELS.index(a) >= LEVELS.index(b) else b


def factor_level_for(user: User) -> str:
    """What this user must prove beyond the password (SPEC §14): their client account's
    level (or, when it has none of its own, its reseller's default for accounts), the
    account's stricter level for admins when they are one; a reseller user's reseller's.
    ``email`` when nothing says more."""
    account = user.account
    if account is not None:
        users_level, admins_level = account_levels(account)
        return admins_level if user.is_client_admin else users_level
    if user.reseller is not None:
        return user.reseller.factor_policy
    return "email"


def account_levels(account: ClientAccount) -> tuple[str, str]:
    """The levels a client account asks of its users and of its admins."""
    level = account.factor_policy or (
        account.reseller.accounts_factor_policy if account.reseller is not None
        else "email")
    if account.admin_factor_policy:
        return level, stricter(level, account.admin_factor_policy)
    return level, level
