from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.actions.credentials import user_unlock_by_operator
from loginguard.users.cli import user_named


class Command(BaseCommand):
    help = (
        "Clear a user's sign-in locks: the password backoff from every address and "
        "browser, and the code-step lock. For a user locked out by someone guessing; "
        "check who is asking first. Audited (user.unlocked, via cli)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username", help="The user (case-insensitive).")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = user_named(username)
        cleared = user_unlock_by_operator(user=user)
        self.stdout.write(f"Cleared {cleared} lock counter(s) of {user.username}; they can "
                          "try to sign in again now.")
