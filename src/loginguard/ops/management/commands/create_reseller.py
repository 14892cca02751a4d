from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.actions.tenants import reseller_create
from loginguard.lib.cli import validation_errors_as_command_errors


class Command(BaseCommand):
    help = "Create a reseller: an organisation that manages client accounts in the gateway."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="The reseller's name (unique, ignoring case).")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        with validation_errors_as_command_errors():
            reseller = reseller_create(name=name)
        self.stdout.write(f"Created reseller {reseller.name!r} (id {reseller.pk}).")
