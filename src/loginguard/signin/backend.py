from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from loginguard.access.rules import may_sign_in
from loginguard.users.selectors import user_by_id


class LoginguardBackend(ModelBackend):
    """Django's backend plus the tenant (``access.rules.may_sign_in``): a user of a
    suspended client account or reseller cannot authenticate, and an open session of
    theirs stops resolving to a user on its next request."""

    def user_can_authenticate(self, user: Any) -> bool:
        return may_sign_in(user)

    def get_user(self, user_id: Any) -> Any:
        user = user_by_id(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
