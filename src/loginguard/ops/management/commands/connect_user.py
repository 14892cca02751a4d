from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loginguard.actions.tenants import connection_create
from loginguard.lib.cli import lookup, validation_errors_as_command_errors
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User, username_key


class Command(BaseCommand):
    help = ("Connect a reseller user to a client account of the same reseller, so they can "
            "work inside it with a client admin's rights.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username", help="The reseller user.")
        parser.add_argument("--account", required=True, metavar="NAME",
                            help="The client account to connect them to.")

    def handle(self, *args: Any, username: str, account: str, **options: Any) -> None:
        try:
            user = User.objects.get(username_key=username_key(username))
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        target = lookup(ClientAccount, account, "client account")
        with validation_errors_as_command_errors():
            connection_create(user=user, account=target)  # type: ignore[arg-type]
        self.stdout.write(f"Connected {user.username} to {target}.")
