from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loginguard.users.models import User


def ip_policy_for(user: User) -> str:
    """The IP-match policy that governs this user's devices and sessions: their client
    account's, or their reseller's for reseller users (SPEC §2.2)."""
    if user.account is not None:
        return user.account.ip_match
    if user.reseller is not None:
        return user.reseller.ip_match
    return "exact"
