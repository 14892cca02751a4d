"""``deactivate_user`` and ``reactivate_user``: one base, two commands."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.actions.users import user_set_active_by_operator
from loginguard.users.cli import user_named


class ActivationCommand(BaseCommand):
    active = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username", help="The user (case-insensitive).")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = user_named(username)
        changed = user_set_active_by_operator(target=user, active=self.active)
        state = "active" if self.active else "deactivated"
        if not changed:
            self.stdout.write(f"{user.username} is already {state}; nothing changed.")
        elif self.active:
            self.stdout.write(f"Reactivated {user.username}: they can sign in again (with "
                              "a code: their trusted devices were removed).")
        else:
            self.stdout.write(f"Deactivated {user.username}: their sessions, trusted "
                              "devices and API tokens are gone, and they were told by email.")
