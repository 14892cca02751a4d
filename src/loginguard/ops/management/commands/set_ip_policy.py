from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.actions.tenants import ip_policy_set_by_operator
from loginguard.lib.cli import lookup, validation_errors_as_command_errors
from loginguard.tenancy.models import ClientAccount, IpMatch, Reseller


class Command(BaseCommand):
    help = (
        "Set how a trusted device's and a session's IP address is compared, for a client "
        "account's users (--account) or a reseller's own users (--reseller): exact (the "
        "same address), network (the same IPv4 /24 or IPv6 /64) or off (browser and OS "
        "only). It applies from the next sign-in. Audited."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        tenant = parser.add_mutually_exclusive_group(required=True)
        tenant.add_argument("--account", metavar="NAME", help="A client account.")
        tenant.add_argument("--reseller", metavar="NAME", help="A reseller (its own users).")
        parser.add_argument("policy", choices=IpMatch.values)

    def handle(self, *args: Any, account: str | None, reseller: str | None, policy: str,
               **options: Any) -> None:
        target: Any = lookup(ClientAccount, account, "client account") if account \
            else lookup(Reseller, reseller or "", "reseller")
        with validation_errors_as_command_errors():
            changed = ip_policy_set_by_operator(target=target, policy=policy)
        what = "client account" if account else "reseller"
        self.stdout.write(f"The IP policy of {what} {target.name!r} is {policy}"
                          + ("." if changed else " already; nothing changed."))
