from __future__ import annotations

import csv
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loginguard.overview.queries import PERIODS, account_figures, adoption
from loginguard.overview.views import safe_cell
from loginguard.tenancy.models import ClientAccount

COLUMNS = ("account", "reseller", "users", "sign-ins", "failed passwords", "code lock-outs",
           "untrusted sign-ins", "email only", "short of policy", "inactive 90d")


class Command(BaseCommand):
    help = (
        "The security overview across every reseller and client account, for the "
        "operator's quick health read: sign-ins, failed passwords, code lock-outs and "
        "untrusted-device sign-ins over the period, users with email only or short of "
        "their account's factor policy, users not signed in for 90 days. Busiest accounts "
        "(by failed passwords) first. Read-only."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--days", type=int, default=30, choices=PERIODS,
                            help="The period counted, in days up to today (default: 30).")
        parser.add_argument("--reseller", default="",
                            help="Only the client accounts of this reseller (its name).")
        parser.add_argument("--csv", action="store_true",
                            help="One CSV row per account on stdout, for a spreadsheet.")

    def handle(self, *args: Any, days: int, reseller: str, csv: bool,
               **options: Any) -> None:
        accounts = ClientAccount.objects.select_related("reseller").order_by("name")
        if reseller:
            accounts = accounts.filter(reseller__name=reseller)
            if not accounts.exists():
                raise CommandError(f"No client account belongs to a reseller named "
                                   f"{reseller!r}. `loginguard report` lists them all.")
        listed = list(accounts)
        figures = sorted(account_figures(listed, days),
                         key=lambda f: (-f.failed_passwords, f.account.name))
        rows: list[tuple[object, ...]] = [(
            f.account.name + ("" if f.account.is_active else " (suspended)"),
            f.account.reseller.name if f.account.reseller else "-", f.users, f.sign_ins,
            f.failed_passwords, f.lockouts, f.untrusted, f.email_only, f.not_ready,
            f.inactive) for f in figures]
        if csv:
            self.write_csv(rows)
            return
        share = adoption(listed)
        totals = [sum(getattr(f, name) for f in figures) for name in (
            "users", "sign_ins", "failed_passwords", "lockouts", "untrusted")]
        self.stdout.write(f"loginguard security report, last {days} days (UTC), "
                          f"{len(rows)} client account(s)")
        self.stdout.write(f"  sign-ins {totals[1]}, failed passwords {totals[2]}, code "
                          f"lock-outs {totals[3]}, untrusted-device sign-ins {totals[4]}")
        self.stdout.write(f"  active users by strongest factor: passkey {share.passkey}, "
                          f"app {share.app}, email only {share.none}; short of their "
                          f"account's policy: {share.not_ready}")
        if not rows:
            return
        widths = [max(len(str(value)) for value in column)
                  for column in zip(COLUMNS, *rows, strict=False)]
        self.stdout.write("")
        for row in (COLUMNS, *rows):
            self.stdout.write("  ".join(
                f"{value!s:<{width}}" if i < 2 else f"{value!s:>{width}}"
                for i, (value, width) in enumerate(zip(row, widths, strict=True))).rstrip())

    def write_csv(self, rows: list[tuple[object, ...]]) -> None:
        writer = csv.writer(self.stdout)
        writer.writerow(COLUMNS)
        writer.writerows([[safe_cell(cell) for cell in row] for row in rows])
