from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loginguard.actions.tenants import factor_policy_set_by_operator
from loginguard.lib.cli import lookup, validation_errors_as_command_errors
from loginguard.tenancy.models import ClientAccount, FactorLevel, Reseller


class Command(BaseCommand):
    help = (
        "Set what users must prove beyond their password (SPEC §14): email (an emailed "
        "code is enough, the default), app_or_passkey (an authenticator app or a passkey) "
        "or passkey (passkeys only, phishing-resistant). For a client account's users "
        "(--account; with --admins, a stricter level for its client admins alone; "
        "'inherit' takes its reseller's default), or a reseller's own users (--reseller; "
        "with --accounts-default, the default of its client accounts). Users whose level "
        "changes are told by email; users without the factor sign in with the emailed "
        "code once more and must add one. Audited."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        tenant = parser.add_mutually_exclusive_group(required=True)
        tenant.add_argument("--account", metavar="NAME", help="A client account.")
        tenant.add_argument("--reseller", metavar="NAME", help="A reseller.")
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--admins", action="store_true",
                           help="The account's level for its client admins alone.")
        which.add_argument("--accounts-default", action="store_true",
                           help="The reseller's default for its client accounts.")
        parser.add_argument("level", choices=[*FactorLevel.values, "inherit"])

    def handle(self, *args: Any, account: str | None, reseller: str | None, admins: bool,
               accounts_default: bool, level: str, **options: Any) -> None:
        if account:
            target: Any = lookup(ClientAccount, account, "client account")
            field = "admin_factor_policy" if admins else "factor_policy"
            if accounts_default:
                raise CommandError("--accounts-default is for a reseller.")
        else:
            target = lookup(Reseller, reseller or "", "reseller")
            field = "accounts_factor_policy" if accounts_default else "factor_policy"
            if admins:
                raise CommandError("--admins is for a client account.")
        value = "" if level == "inherit" else level
        if value == "" and not account:
            raise CommandError("'inherit' is for a client account's levels.")
        with validation_errors_as_command_errors():
            changed = factor_policy_set_by_operator(target=target, changes={field: value})
        what = ("client account" if account else "reseller") + f" {target.name!r}"
        label = field.replace("_", " ")
        self.stdout.write(f"The {label} of {what} is {level}"
                          + ("." if changed else " already; nothing changed."))
