from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from loginguard.ops.demo import load_demo


class Command(BaseCommand):
    help = ("Load demo data (a reseller, two client accounts, their users) and print the "
            "usernames and passwords. Safe to run twice. Demo mode only.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--force", action="store_true",
                            help="Load even though DEV_MAILBOX_DIR is not set (not demo mode).")

    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        if not settings.DEV_MAILBOX_DIR and not force:
            raise CommandError("Refusing to load demo users with public passwords outside "
                               "demo mode (DEV_MAILBOX_DIR unset). Use --force if you mean it.")
        users = load_demo()
        self.stdout.write(f"Demo users (sign in at {settings.BASE_URL}/login/):")
        for demo in users:
            where = demo.account or f"{demo.reseller} (gateway)"
            password = demo.password or "(invited)"
            self.stdout.write(f"  {demo.username:<6} {password:<24} {demo.role}, {where}")
        self.stdout.write("An invited user chooses a password from the invitation email.")
        if settings.DEV_MAILBOX_DIR:
            self.stdout.write(f"Emails arrive at {settings.BASE_URL}/dev/mailbox/")
