from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loginguard.actions.users import clean_email, email_set
from loginguard.devices.request_info import NO_REQUEST
from loginguard.lib.cli import validation_errors_as_command_errors
from loginguard.users.cli import user_named


class Command(BaseCommand):
    help = (
        "The operator's escape hatch for a user who lost their mailbox: set USER's email "
        "address to EMAIL at once, without the code or the user's approval. Audited "
        "(email.changed, via cli); the old address is told; the user's trusted devices are "
        "revoked, so their next sign-in asks for a code at the new address. Check who is "
        "asking before you run it: whoever owns EMAIL can then reset the password."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username", help="The user (case-insensitive).")
        parser.add_argument("email", help="The new address.")

    def handle(self, *args: Any, username: str, email: str, **options: Any) -> None:
        user = user_named(username)
        with validation_errors_as_command_errors():
            address = clean_email(email)
        if address.casefold() == user.email.casefold():
            raise CommandError(f"{user.username} already uses {address}.")
        email_set(target=user, email=address, info=NO_REQUEST, actor=None, via="cli")
        self.stdout.write(f"{user.username}'s email is now {address}; the old address was "
                          "told and their trusted devices were revoked.")
