"""What the operator's user commands share."""

from __future__ import annotations

from django.core.management.base import CommandError

from loginguard.users.models import User, username_key


def user_named(username: str) -> User:
    """The user with this username (ignoring case), or a CommandError."""
    user = User.objects.select_related("account", "reseller").filter(
        username_key=username_key(username.strip())).first()
    if user is None:
        raise CommandError(f"No user named {username!r}.")
    return user
