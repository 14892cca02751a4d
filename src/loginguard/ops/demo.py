"""Demo data for `make run`: one reseller with a reseller user, two client accounts (one
under the reseller), each with a client admin and a client user."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from loginguard.actions.tenants import account_create, connection_create, reseller_create
from loginguard.actions.users import user_create
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.users.models import User, username_key


@dataclass(frozen=True)
class DemoUser:
    username: str
    email: str
    password: str | None
    role: str
    account: str | None = None
    reseller: str | None = None
    admin: bool = False


RESELLER = "Northwind Partners"
ACCOUNTS = (("Acme Corp", RESELLER), ("Globex Ltd", None))
# Demo passwords are public by design (printed and in the README); `loginguard demo`
# refuses to run outside demo mode so they never reach a production database.
USERS = (
    DemoUser("rita", "rita@northwind.example", "copper-lantern-meadow", "reseller user",
             reseller=RESELLER),
    DemoUser("alice", "alice@acme.example", "silver-harbor-compass", "client admin",
             account="Acme Corp", admin=True),
    DemoUser("bob", "bob@acme.example", "velvet-canyon-orbit", "client user",
             account="Acme Corp"),
    DemoUser("gina", "gina@globex.example", "amber-tundra-violin", "client admin",
             account="Globex Ltd", admin=True),
    DemoUser("gus", "gus@globex.example", "quartz-willow-ember", "client user",
             account="Globex Ltd"),
    DemoUser("nora", "nora@acme.example", None, "client user (no password yet)",
             account="Acme Corp"),
)


def load_demo() -> list[DemoUser]:
    with transaction.atomic():
        reseller = Reseller.objects.filter(name=RESELLER).first() or reseller_create(name=RESELLER)
        accounts = {}
        for name, owner in ACCOUNTS:
            accounts[name] = ClientAccount.objects.filter(name=name).first() or account_create(
                name=name, reseller=reseller if owner else None)
        for demo in USERS:
            if User.objects.filter(username_key=username_key(demo.username)).exists():
                continue
            user_create(
                username=demo.username, email=demo.email, password=demo.password,
                invite=demo.password is None, is_client_admin=demo.admin,
                account=accounts[demo.account] if demo.account else None,
                reseller=reseller if demo.reseller else None,
            )
        rita = User.objects.get(username_key="rita")
        connection_create(user=rita, account=accounts["Acme Corp"])
    return list(USERS)
