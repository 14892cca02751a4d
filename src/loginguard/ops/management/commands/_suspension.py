"""The operator's suspend/resume commands (one base, four commands)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.actions.tenants import account_set_active, reseller_set_active
from loginguard.lib.cli import lookup
from loginguard.tenancy.models import ClientAccount, Reseller


class SuspensionCommand(BaseCommand):
    """``suspend_account``/``resume_account``/``suspend_reseller``/``resume_reseller``."""

    model: type[ClientAccount] | type[Reseller] = ClientAccount
    active = False

    @property
    def what(self) -> str:
        return "client account" if self.model is ClientAccount else "reseller"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help=f"The {self.what}'s name (ignoring case).")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        target: Any = lookup(self.model, name, self.what)
        if self.model is ClientAccount:
            ended = account_set_active(account=target, active=self.active, via="cli")
        else:
            ended = reseller_set_active(reseller=target, active=self.active, via="cli")
        verb = "Resumed" if self.active else "Suspended"
        sessions = "" if self.active else f"; ended {ended} session(s) of its users"
        self.stdout.write(f"{verb} {self.what} {target.name!r}{sessions}.")
