"""The security overview on a big account (issue 29): its render time against the plain
Manage users page, as a ratio measured in one run.

    .venv/bin/python -m bench.overview [--users 10000] [--events 1000000] [--rounds 5]
                                       [--engine sqlite|postgres]

One client account with ``--users`` users (a tenth with an authenticator app) and
``--events`` audit rows spread over the last 365 days (sign-ins by trusted device, code
and app; failed passwords from 500 addresses; codes sent; untrusted-device sign-ins;
lock-outs). Its client admin signs in through the real pages, then the rounds alternate:
the overview (the page and its three chart images, as a browser loads them) and Manage
users (``/accounts/<id>/``, every user listed). Wall time in this process, which runs the
whole app (no server): medians per round. Goal: overview <= 3x Manage users. The query
plans of the overview's grouped counts are printed (``EXPLAIN``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from bench.harness import PASSWORD
from bench.inprocess_cost import setup

FACTORS = (("trusted_device", 55), ("email", 30), ("app", 12), ("recovery_code", 1),
           ("passkey", 2))


def seed(users: int, events: int) -> tuple[Any, Any]:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from loginguard.actions.tenants import account_create
    from loginguard.actions.users import user_create
    from loginguard.audit.events import EventType
    from loginguard.audit.models import AuditEvent
    from loginguard.factors.models import AuthenticatorApp
    from loginguard.lib import clock
    from loginguard.users.models import User

    rng = random.Random(29)
    account = account_create(name="Big Co")
    admin = user_create(username="boss", email="boss@big.example", account=account,
                        is_client_admin=True, password=PASSWORD)
    now = clock.now()
    unusable = make_password(None)
    made = []
    for start in range(0, users, 5000):
        batch = [User(username=f"user{n:05d}", username_key=f"user{n:05d}",
                      email=f"user{n:05d}@big.example", account=account, kind="client",
                      password=unusable,
                      last_login=now - timedelta(days=rng.randint(0, 200)))
                 for n in range(start, min(users, start + 5000))]
        made += User.objects.bulk_create(batch)
    User.objects.filter(account=account).exclude(pk=admin.pk).update(
        date_joined=now - timedelta(days=400))
    AuthenticatorApp.objects.bulk_create([
        AuthenticatorApp(user=user, name="Phone", secret="x", created_at=now)
        for user in made[::10]])
    ids = [user.pk for user in made]
    ips = [f"198.51.{n // 250}.{n % 250 + 1}" for n in range(500)]
    factor_names = [name for name, _ in FACTORS]
    factor_weights = [weight for _, weight in FACTORS]
    kinds = ((EventType.LOGIN_SUCCEEDED, 55), (EventType.LOGIN_FAILED, 20),
             (EventType.CODE_SENT, 15), (EventType.UNTRUSTED_LOGIN, 7),
             (EventType.CODE_FAILED, 2), (EventType.CODE_LOCKED, 1))
    kind_names = [kind for kind, _ in kinds]
    kind_weights = [weight for _, weight in kinds]
    ua = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"
    done = 0
    while done < events:
        size = min(20000, events - done)
        rows = []
        for kind in rng.choices(kind_names, kind_weights, k=size):
            extra: dict[str, Any] = {}
            if kind == EventType.LOGIN_SUCCEEDED:
                factor = rng.choices(factor_names, factor_weights)[0]
                extra = {"factor": factor, "outcome": "trusted" if factor ==
                         "trusted_device" else "code", "proofs": ["password"]}
            rows.append(AuditEvent(
                event_type=kind, subject_id=rng.choice(ids), actor_id=None,
                account=account, reseller_id=account.reseller_id, ip=rng.choice(ips),
                user_agent=ua, extra=extra,
                created_at=now - timedelta(seconds=rng.randint(0, 365 * 86400))))
        with transaction.atomic():
            AuditEvent.objects.bulk_create(rows, batch_size=5000)
        done += size
        print(f"\r  seeded {done:,} / {events:,} audit rows", end="", file=sys.stderr)
    print(file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return account, admin


def signed_in_client(admin: Any) -> Any:
    from django.test import Client

    from loginguard.codes import services as codes
    from loginguard.signin import services as signin

    issued: dict[int, str] = {}
    original = codes.code_issue

    def remember(**kwargs: Any) -> str:
        issued[kwargs["user"].pk] = code = original(**kwargs)
        return code

    signin.code_issue = remember  # type: ignore[assignment]  # read the code, no email
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_HOST="127.0.0.1:8000", HTTP_USER_AGENT=(
        "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"))
    assert client.post("/login/", {"username": "boss", "password": PASSWORD}).status_code == 302
    assert client.post("/login/verify/", {"code": issued[admin.pk]}).status_code == 302
    assert client.post("/login/trust/", {"trust": "no"}).status_code == 302
    return client


def timed(client: Any, paths: list[str]) -> float:
    start = time.perf_counter()
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        b"".join(response) if response.streaming else response.content
    return time.perf_counter() - start


def explain(account: Any) -> None:
    from django.db.models import Count
    from django.db.models.fields.json import KT
    from django.db.models.functions import TruncDate

    from loginguard.audit.events import EventType
    from loginguard.audit.models import AuditEvent
    from loginguard.overview.queries import window

    start, _ = window(30)
    query = AuditEvent.objects.filter(account_id__in=[account.pk],
                                      event_type__in=[EventType.LOGIN_SUCCEEDED],
                                      created_at__gte=start) \
        .annotate(day=TruncDate("created_at"), factor=KT("extra__factor")) \
        .values("day", "factor").annotate(n=Count("pk")).order_by()
    print("\nEXPLAIN of the sign-ins-per-day count (30 days):")
    print("  " + query.explain().replace("\n", "\n  "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    pg_name = setup(args.engine)
    try:
        print(f"engine {args.engine}: {args.users:,} users, {args.events:,} audit rows",
              file=sys.stderr)
        account, admin = seed(args.users, args.events)
        client = signed_in_client(admin)
        base = f"/accounts/{account.pk}/"
        overview = [base + "overview/", *(base + f"overview/charts/{name}.svg?days=30"
                                          for name in ("sign-ins", "trouble", "factors"))]
        manage = [base]
        timed(client, overview)  # warm both (templates, the UA parser)
        timed(client, manage)
        over, plain, page_only = [], [], []
        for n in range(args.rounds):
            over.append(timed(client, overview))
            plain.append(timed(client, manage))
            page_only.append(timed(client, overview[:1]))
            print(f"  round {n + 1}: overview {over[-1] * 1000:.0f} ms (page alone "
                  f"{page_only[-1] * 1000:.0f} ms), Manage users {plain[-1] * 1000:.0f} ms",
                  file=sys.stderr)
        o, p, a = (statistics.median(v) * 1000 for v in (over, plain, page_only))
        print(f"overview (page + 3 charts) {o:.0f} ms, page alone {a:.0f} ms; "
              f"Manage users {p:.0f} ms")
        print(f"ratio overview / Manage users = {o / p:.2f} (goal <= 3.0); "
              f"page alone {a / p:.2f}")
        explain(account)
    finally:
        if pg_name:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres",
                                 autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{pg_name}"')  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
