from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.actions.tenants import account_create
from loginguard.lib.cli import lookup, validation_errors_as_command_errors
from loginguard.tenancy.models import Reseller


class Command(BaseCommand):
    help = "Create a client account, optionally managed by a reseller."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="The account's name (unique, ignoring case).")
        parser.add_argument("--reseller", metavar="NAME",
                            help="The reseller that manages this account.")

    def handle(self, *args: Any, name: str, reseller: str | None, **options: Any) -> None:
        owner = lookup(Reseller, reseller, "reseller") if reseller else None
        with validation_errors_as_command_errors():
            account = account_create(name=name, reseller=owner)  # type: ignore[arg-type]
        suffix = f" under reseller {owner}" if owner else ""
        self.stdout.write(f"Created client account {account.name!r}{suffix} (id {account.pk}).")
