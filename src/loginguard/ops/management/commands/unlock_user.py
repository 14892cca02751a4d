from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.actions.credentials import user_unlock_by_operator
from loginguard.users.cli import user_named


class Command(BaseCommand):
    help = (
        "Clear everything that keeps a user from signing in: the password backoff from "
        "every address and browser, the code-step locks, and the quota of 5 emailed codes "
        "an hour (the 60-second wait between two codes is not a counter: it passes by "
        "itself). For a user locked out by someone guessing, or who asked for too many "
        "codes; check who is asking first. Prints what was cleared. Audited "
        "(user.unlocked, via cli)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username", help="The user (case-insensitive).")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = user_named(username)
        cleared = user_unlock_by_operator(user=user)
        if not cleared:
            self.stdout.write(f"Nothing was blocking {user.username}: no lock and no code "
                              "quota. (After a code, the next one can be sent a minute "
                              "later.)")
            return
        self.stdout.write(f"Cleared for {user.username}: " + "; ".join(cleared)
                          + ". They can sign in again now.")
