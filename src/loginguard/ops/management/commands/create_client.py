from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.actions.clients import client_create
from loginguard.lib.cli import lookup, validation_errors_as_command_errors
from loginguard.tenancy.models import ClientAccount


class Command(BaseCommand):
    help = (
        "Register an app for single sign-on (OpenID Connect, docs/sso.md). Prints its "
        "client id and, for a confidential client, its secret: the secret is shown this "
        "once and stored only as a hash. Without --account the client is platform-wide "
        "(any user, no consent screen); with --account only that account's users (and the "
        "reseller users connected to it) may sign in to it, each asked once for consent."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="The app's name, as users see it.")
        parser.add_argument("--redirect-uri", action="append", required=True, metavar="URI",
                            help="Where the app receives the code; matched exactly. "
                                 "Repeat for several.")
        parser.add_argument("--public", action="store_true",
                            help="A public client (a single-page or mobile app): no secret, "
                                 "PKCE only.")
        parser.add_argument("--backchannel-logout-uri", default="", metavar="URI",
                            help="Where loginguard POSTs a logout token when a session the "
                                 "app got tokens in ends.")
        parser.add_argument("--account", metavar="NAME",
                            help="Bind the client to this client account.")
        parser.add_argument("--allow-private-addresses", action="store_true",
                            help="Let the URIs point at private, loopback or link-local "
                                 "addresses (an app inside your network, or the demo on "
                                 "this machine). Without it, as on the account pages, only "
                                 "https URIs whose host resolves to public addresses are "
                                 "taken (native apps' http://127.0.0.1 redirects aside).")

    def handle(self, *args: Any, name: str, redirect_uri: list[str], public: bool,
               backchannel_logout_uri: str, account: str | None,
               allow_private_addresses: bool, **options: Any) -> None:
        bound: ClientAccount | None = (lookup(ClientAccount, account, "client account")  # type: ignore[assignment]
                                       if account else None)
        with validation_errors_as_command_errors():
            registered = client_create(name=name, redirect_uris=redirect_uri, public=public,
                                       backchannel_logout_uri=backchannel_logout_uri,
                                       account=bound, allow_private=allow_private_addresses)
        scope = f"for account {bound.name}" if bound else "platform-wide"
        self.stdout.write(f"Registered {name} ({scope}).")
        self.stdout.write(f"client_id: {registered.client_id}")
        if registered.secret:
            self.stdout.write(f"client_secret: {registered.secret}")
            self.stdout.write("Store the secret now: it is not shown again.")
