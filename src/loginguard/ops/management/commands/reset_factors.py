from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.actions.credentials import factors_reset
from loginguard.users.cli import user_named


class Command(BaseCommand):
    help = (
        "Reset a user's sign-in factors, for someone who lost their passkeys, "
        "authenticator app and recovery codes: they are removed, every session of the "
        "user ends, their trusted devices are revoked, and they are emailed. They sign in "
        "again with their password and an emailed code and enrol again. Check who is "
        "asking first: this leaves the account guarded by the mailbox alone. Audited "
        "(factors.reset, via cli)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username", help="The user (case-insensitive).")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = user_named(username)
        factors_reset(actor=None, target=user, via="cli")
        self.stdout.write(f"Reset the sign-in factors of {user.username}: their passkeys, "
                          "apps and recovery codes are gone, they were signed out "
                          "everywhere and told by email.")
