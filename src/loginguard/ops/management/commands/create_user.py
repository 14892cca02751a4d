from __future__ import annotations

import select
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loginguard.actions.users import user_create
from loginguard.lib.cli import lookup, validation_errors_as_command_errors
from loginguard.tenancy.models import ClientAccount, Reseller


class Command(BaseCommand):
    help = (
        "Create a client user (--account) or a reseller user (--reseller). Give the "
        "password on standard input with --password-stdin, or send an invitation email "
        "with --invite; the password policy applies (12 to 1024 characters, not common, "
        "not numeric, not like the username, email, account or reseller name)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", required=True, help="Where codes and alerts go.")
        tenant = parser.add_mutually_exclusive_group(required=True)
        tenant.add_argument("--account", metavar="NAME", help="Client account of the user.")
        tenant.add_argument("--reseller", metavar="NAME", help="Reseller of the user.")
        parser.add_argument("--admin", action="store_true",
                            help="Make the client user a client admin of the account.")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--password-stdin", action="store_true",
                         help="Read the password from the first line of standard input.")
        how.add_argument("--invite", action="store_true",
                         help="Email the user a link (valid 72 hours) to choose a password.")

    def handle(self, *args: Any, username: str, email: str, account: str | None,
               reseller: str | None, admin: bool, password_stdin: bool, invite: bool,
               **options: Any) -> None:
        if admin and not account:
            raise CommandError("--admin applies only to client users (with --account).")
        password = None
        if not password_stdin and not invite and stdin_has_data():
            raise CommandError(
                "Standard input holds data but --password-stdin was not given: add "
                "--password-stdin to set the password from it (nothing was created).")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin: standard input held no password.")
        tenant = {"account": lookup(ClientAccount, account, "client account")} if account \
            else {"reseller": lookup(Reseller, reseller or "", "reseller")}
        with validation_errors_as_command_errors():
            user = user_create(username=username, email=email, is_client_admin=admin,
                               password=password, invite=invite, **tenant)  # type: ignore[arg-type]
        role = "client admin" if admin else f"{user.kind} user"
        how = " and sent an invitation" if invite else ""
        self.stdout.write(f"Created {role} {user.username} <{user.email}>{how}.")


def stdin_has_data() -> bool:
    """Something was piped in (``echo pw | loginguard create_user ...``): a password the
    operator meant to set must not be ignored silently. A terminal, an empty pipe or
    /dev/null is no data; nothing is consumed."""
    stream = sys.stdin
    if stream is None or stream.closed or stream.isatty():
        return False
    try:
        readable, _, _ = select.select([stream], [], [], 0)
        buffer = getattr(stream, "buffer", None)  # a BufferedReader: peek() reads nothing
        return bool(readable) and buffer is not None and bool(buffer.peek(1))
    except (OSError, ValueError, AttributeError):  # not a real file (an IDE, a test)
        return False
