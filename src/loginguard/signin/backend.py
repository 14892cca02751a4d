from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class LoginguardBackend(ModelBackend):
    """Django's backend plus the tenant: a user of a suspended client account or
    reseller cannot authenticate, and an open session of theirs stops resolving to a
    user on its next request."""

    def user_can_authenticate(self, user: Any) -> bool:
        if not super().user_can_authenticate(user):
            return False
        if user.account_id is not None and not user.account.is_active:
            return False
        return not (user.reseller_id is not None and not user.reseller.is_active)

    def get_user(self, user_id: Any) -> Any:
        from loginguard.users.selectors import user_by_id

        user = user_by_id(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
