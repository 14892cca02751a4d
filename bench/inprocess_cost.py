"""Where the CPU goes, in-process (diagnostics behind docs/benchmarks.md).

    .venv/bin/python -m bench.inprocess_cost [--engine sqlite|postgres]

Runs the app in this process on a fresh database (no server, no network) and reports CPU
per request: each step of an untrusted and of a trusted sign-in through Django's test
client, beside one Argon2id verify; and GET /healthz, GET /api/v1/me and a bad-checksum
token through the WSGI handler, with /me measured again with its token check replaced by
a constant user (the floor of Django + django-ninja for that endpoint).
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench.harness import PASSWORD, UA


def cpu_us(action: Callable[[], Any], n: int) -> float:
    for _ in range(max(5, n // 20)):
        action()
    start = time.process_time()
    for _ in range(n):
        action()
    return (time.process_time() - start) / n * 1e6


def setup(engine: str) -> str | None:
    tmp = tempfile.mkdtemp(prefix="lg-inprocess-")
    pg_name = None
    url = f"sqlite:///{tmp}/bench.sqlite3"
    if engine == "postgres":
        import psycopg

        pg_name = f"lg_inprocess_{secrets.token_hex(4)}"
        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres",
                             autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{pg_name}"')  # type: ignore[arg-type]
        url = f"postgres://postgres@127.0.0.1:5432/{pg_name}"
    os.environ.update(SECRET_KEY=secrets.token_urlsafe(50), DEBUG="false", DATABASE_URL=url,
                      BASE_URL="http://127.0.0.1:8000", SECURE_COOKIES="false",
                      LOGINGUARD_VAR_DIR=tmp, DJANGO_SETTINGS_MODULE="loginguard.settings")
    import logging

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    logging.disable(logging.WARNING)
    return pg_name


def signin_steps(rounds: int) -> None:
    from argon2 import PasswordHasher
    from django.test import Client

    from loginguard.actions.users import user_create
    from loginguard.codes import services as codes
    from loginguard.signin import services as signin
    from loginguard.tenancy.models import ClientAccount

    issued: dict[int, str] = {}
    original = codes.code_issue

    def remember(**kwargs: Any) -> str:
        issued[kwargs["user"].pk] = code = original(**kwargs)
        return code

    signin.code_issue = remember  # type: ignore[assignment]  # read codes without email
    account = ClientAccount.objects.create(name="Acme Widgets")
    steps: dict[str, list[float]] = {}

    def step(name: str, action: Callable[[], Any]) -> Any:
        start = time.process_time()
        response = action()
        steps.setdefault(name, []).append((time.process_time() - start) * 1000)
        return response

    def sign_in(client: Client, username: str, trust: str) -> None:
        def csrf() -> str:
            return client.cookies["lg_csrf"].value

        prefix = "trusted " if trust == "trusted" else ""
        step(f"{prefix}GET /login/", lambda: client.get("/login/"))
        response = step(f"{prefix}POST /login/", lambda: client.post(
            "/login/", {"username": username, "password": PASSWORD,
                        "csrfmiddlewaretoken": csrf()}))
        if trust == "trusted":
            assert response["Location"] == "/", response.status_code
            client.post("/logout/", {"csrfmiddlewaretoken": csrf()})
            return
        user_id = int(client.session["lg_pending"]["user_id"])
        step("GET /login/verify/", lambda: client.get("/login/verify/"))
        step("POST /login/verify/", lambda: client.post(
            "/login/verify/", {"code": issued[user_id], "csrfmiddlewaretoken": csrf()}))
        step("GET /login/trust/", lambda: client.get("/login/trust/"))
        name = "Bench device" if trust == "yes" else ""
        step(f"POST /login/trust/ ({trust})", lambda: client.post(
            "/login/trust/", {"trust": trust, "device_name": name,
                              "csrfmiddlewaretoken": csrf()}))
        step("GET /", lambda: client.get("/"))
        if trust == "yes":
            client.post("/logout/", {"csrfmiddlewaretoken": csrf()})

    users = [user_create(username=f"u{n}", email=f"u{n}@bench.example", account=account,
                         password=PASSWORD) for n in range(2 * rounds)]
    for user in users[:rounds]:
        sign_in(Client(REMOTE_ADDR="127.0.0.1", HTTP_USER_AGENT=UA,
                       HTTP_HOST="127.0.0.1:8000"), user.username, "no")
    trusted = []
    for user in users[rounds:]:
        client = Client(REMOTE_ADDR="127.0.0.1", HTTP_USER_AGENT=UA, HTTP_HOST="127.0.0.1:8000")
        sign_in(client, user.username, "yes")
        trusted.append((client, user.username))
    steps = {k: v for k, v in steps.items() if "(yes)" not in k}
    for client, username in trusted:
        sign_in(client, username, "trusted")
    hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
    encoded = hasher.hash(PASSWORD)
    hash_ms = cpu_us(lambda: hasher.verify(encoded, PASSWORD), 20) / 1000
    print(f"one Argon2id verify: {hash_ms:.2f} ms CPU")
    for name, values in steps.items():
        skip = 2 if len(values) > 4 else 0  # the first requests compile and warm caches
        kept = values[skip:]
        print(f"  {name:<28} {sum(kept) / len(kept):6.2f} ms CPU")


def api_requests(n: int) -> None:
    from django.core.wsgi import get_wsgi_application

    from loginguard.actions.users import user_create
    from loginguard.api import v1
    from loginguard.apitokens.auth import token_authenticate
    from loginguard.apitokens.services import api_token_create
    from loginguard.tenancy.models import ClientAccount

    user = user_create(username="benchapi", email="b@api.example",
                       account=ClientAccount.objects.create(name="Bench API"),
                       password="bench-api-passphrase-1")
    token = api_token_create(user=user, name="bench", days=7)[1]
    bad = token[:-1] + ("A" if token[-1] != "A" else "B")
    app = get_wsgi_application()

    def call(path: str, auth: str | None = None) -> Callable[[], None]:
        def run() -> None:
            environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
                       "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
                       "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1",
                       "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b"")}
            if auth:
                environ["HTTP_AUTHORIZATION"] = f"Bearer {auth}"
            response = app(environ, lambda status, headers, exc_info=None: None)
            b"".join(response)
            response.close()  # type: ignore[attr-defined]
        return run

    print(f"GET /healthz                   {cpu_us(call('/healthz'), n):6.0f} µs CPU")
    print(f"GET /api/v1/me                 {cpu_us(call('/api/v1/me', token), n):6.0f} µs CPU")
    print(f"bad-checksum token             {cpu_us(call('/api/v1/me', bad), n):6.0f} µs CPU")
    row = token_authenticate(token, ip="127.0.0.1")
    assert row is not None
    original = v1.BearerToken.__call__
    v1.BearerToken.__call__ = lambda self, request: row.user  # type: ignore[method-assign]
    try:
        print(f"GET /api/v1/me, check replaced {cpu_us(call('/api/v1/me', token), n):6.0f} "
              "µs CPU (floor of Django + django-ninja)")
    finally:
        v1.BearerToken.__call__ = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--signins", type=int, default=30)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    pg_name = setup(args.engine)
    try:
        signin_steps(args.signins)
        api_requests(args.requests)
    finally:
        if pg_name:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres",
                                 autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
