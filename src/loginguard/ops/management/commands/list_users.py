from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.lib.cli import lookup
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.users.models import User


class Command(BaseCommand):
    help = (
        "List users: username, email, role, client account or reseller, and whether they "
        "are active. --account or --reseller narrows the list to one tenant."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        tenant = parser.add_mutually_exclusive_group()
        tenant.add_argument("--account", metavar="NAME", help="Only this client account's.")
        tenant.add_argument("--reseller", metavar="NAME", help="Only this reseller's users.")

    def handle(self, *args: Any, account: str | None, reseller: str | None,
               **options: Any) -> None:
        users = User.objects.select_related("account", "reseller").order_by("username_key")
        if account:
            found: Any = lookup(ClientAccount, account, "client account")
            users = users.filter(account=found)
        if reseller:
            found = lookup(Reseller, reseller, "reseller")
            users = users.filter(reseller=found)
        rows = [(u.username, u.email, role(u), str(u.account or u.reseller or ""),
                 "active" if u.is_active else "deactivated") for u in users.iterator()]
        header = ("USERNAME", "EMAIL", "ROLE", "ACCOUNT / RESELLER", "STATUS")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True))
                              .rstrip())
        self.stdout.write(f"{len(rows)} user(s).")


def role(user: User) -> str:
    if user.is_reseller_user:
        return "reseller user"
    return "client admin" if user.is_client_admin else "client user"
