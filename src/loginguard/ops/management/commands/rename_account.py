from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.actions.tenants import account_rename
from loginguard.lib.cli import lookup, validation_errors_as_command_errors
from loginguard.tenancy.models import ClientAccount


class Command(BaseCommand):
    help = (
        "Rename a client account (names are unique, ignoring case). Audited "
        "(account.renamed, with the old and new name)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="The account's current name (ignoring case).")
        parser.add_argument("new_name", help="Its new name.")

    def handle(self, *args: Any, name: str, new_name: str, **options: Any) -> None:
        account: Any = lookup(ClientAccount, name, "client account")
        old = account.name
        with validation_errors_as_command_errors():
            account_rename(account=account, name=new_name, via="cli")
        self.stdout.write(f"Renamed client account {old!r} to {account.name!r}.")
