"""Shared fixtures: personas across two resellers and three accounts, a visitor that
drives the HTTP pages like a browser, email delivery through the real worker, the clock."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django_tasks_db.management.commands.db_worker import Worker

from loginguard.actions.tenants import account_create, connection_create, reseller_create
from loginguard.actions.users import user_create
from loginguard.lib import clock
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.users.models import User

PASSWORD = "correct-horse-battery-staple-9"
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
# Each differs from CHROME_WINDOWS in one family only.
CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36")
FIREFOX_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 "
                   "Firefox/133.0")
HOME_IP = "198.51.100.23"


@pytest.fixture(autouse=True)
def _no_dev_mailbox(settings: Any) -> None:
    # Production shape by default; the mailbox tests turn demo mode on themselves.
    # (Tests keep the real Argon2id parameters: the hasher is part of what they check.)
    settings.DEV_MAILBOX_DIR = None


@pytest.fixture(scope="session")
def signing_pem() -> str:
    from tests.sso.conftest import new_pem

    return new_pem()


@pytest.fixture(autouse=True)
def _signing_key(settings: Any, signing_pem: str) -> None:
    """Single sign-on is configured as in production: an RS256 key, this server's issuer."""
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": signing_pem,
                                "OIDC_ISS_ENDPOINT": "http://testserver"}
    settings.SSO_ISSUER = "http://testserver"


@pytest.fixture(autouse=True)
def _isolated_throttles() -> Iterator[None]:
    """With REDIS_URL set the throttle counters live in Redis, which the database rollback
    between tests does not reach: each test gets its own key prefix, deleted after it."""
    from loginguard.throttle import counters

    store = counters.store()
    if not isinstance(store, counters.RedisStore):
        yield
        return
    default, store.prefix = store.prefix, f"loginguard-test:{uuid.uuid4().hex}:"
    try:
        yield
    finally:
        keys = list(store.redis.scan_iter(match=store.prefix + "*"))
        if keys:
            store.redis.delete(*keys)
        store.prefix = default


@pytest.fixture
def hashed_lengths() -> Iterator[list[int]]:
    """The length of every password handed to Argon2 during the test."""
    from loginguard.users.hashers import LoginguardArgon2Hasher

    lengths: list[int] = []
    original = LoginguardArgon2Hasher.verify

    def verify(self: LoginguardArgon2Hasher, password: str, encoded: str) -> bool:
        lengths.append(len(password))
        return original(self, password, encoded)

    with mock.patch.object(LoginguardArgon2Hasher, "verify", verify):
        yield lengths


# A globally routable address that *.example names (RFC 2606; no DNS answers for them
# here) resolve to in tests, so an app's public URIs pass the registration rules of
# sso.uris. Nothing is ever sent there: tests that deliver use the operator's loopback.
PUBLIC_ADDRESS = "93.184.215.14"


@pytest.fixture(autouse=True)
def _example_names_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    from loginguard.sso import uris

    real = uris.resolve

    def resolve(host: str) -> list[str]:
        if host.lower().rstrip(".").endswith(".example"):
            return [PUBLIC_ADDRESS]
        return real(host)

    monkeypatch.setattr(uris, "resolve", resolve)


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@dataclass
class Personas:
    reseller: Reseller
    other_reseller: Reseller
    account: ClientAccount          # under `reseller`
    other_account: ClientAccount    # independent
    admin: User                     # client admin of `account`
    member: User                    # client user of `account`
    reseller_user: User             # of `reseller`, connected to `account`
    stranger: User                  # client admin of `other_account`
    other_reseller_user: User


@pytest.fixture
def personas(db: None) -> Personas:
    reseller = reseller_create(name="Northwind")
    other_reseller = reseller_create(name="Southwind")
    account = account_create(name="Acme", reseller=reseller)
    other_account = account_create(name="Globex")
    admin = user_create(username="alice", email="alice@acme.example", account=account,
                        is_client_admin=True, password=PASSWORD)
    member = user_create(username="bob", email="bob@acme.example", account=account,
                         password=PASSWORD)
    reseller_user = user_create(username="rita", email="rita@northwind.example",
                                reseller=reseller, password=PASSWORD)
    connection_create(user=reseller_user, account=account)
    stranger = user_create(username="sam", email="sam@globex.example",
                           account=other_account, is_client_admin=True, password=PASSWORD)
    other_reseller_user = user_create(username="sue", email="sue@southwind.example",
                                      reseller=other_reseller, password=PASSWORD)
    return Personas(reseller, other_reseller, account, other_account, admin, member,
                    reseller_user, stranger, other_reseller_user)


def deliver() -> list[mail.EmailMessage]:
    """Run the real queue worker until the queue is empty; return everything sent.

    The worker runs inside the test's transaction, where Django's close_old_connections()
    would close the connection (autocommit is off) and lose the test's data on
    PostgreSQL; so only that call is disabled here."""
    worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default",
                    startup_delay=False, max_tasks=None, worker_id="pytest",
                    excluded_queue_names=[])
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        worker.run()
    return list(mail.outbox)


def emails_to(address: str) -> list[mail.EmailMessage]:
    return [m for m in deliver() if address in m.to]


def last_code(address: str) -> str:
    messages = [m for m in emails_to(address) if "verification code" in m.subject]
    assert messages, f"no verification code was emailed to {address}"
    codes = re.findall(r"(?<!\d)\d{6}(?!\d)", str(messages[-1].body))
    assert len(codes) == 1, codes
    return codes[0]


class Visitor:
    """One browser: its cookies, User-Agent and IP, walking the sign-in pages."""

    def __init__(self, ip: str = HOME_IP, user_agent: str = CHROME_WINDOWS,
                 **client_kwargs: Any) -> None:
        self.client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent, **client_kwargs)

    @property
    def ip(self) -> str:
        return str(self.client.defaults["REMOTE_ADDR"])

    @ip.setter
    def ip(self, value: str) -> None:
        self.client.defaults["REMOTE_ADDR"] = value

    def get(self, path: str, **extra: Any) -> Any:
        return self.client.get(path, **extra)

    def post(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.client.post(path, data or {}, **extra)

    def password(self, username: str, password: str = PASSWORD) -> Any:
        return self.post("/login/", {"username": username, "password": password})

    def code(self, code: str) -> Any:
        return self.post("/login/verify/", {"code": code})

    def trust(self, choice: str = "no", name: str = "") -> Any:
        return self.post("/login/trust/", {"trust": choice, "device_name": name})

    def sign_in(self, user: User, *, trust: str = "no", name: str = "My laptop") -> Any:
        """The full untrusted-device sign-in; returns the last response."""
        response = self.password(user.username)
        if response.headers.get("Location") != "/login/verify/":
            return response
        response = self.code(last_code(user.email))
        if response.headers.get("Location") != "/login/trust/":
            return response
        return self.trust(trust, name)

    def signed_in_as(self) -> str | None:
        from django.contrib.auth import SESSION_KEY

        user_id = self.client.session.get(SESSION_KEY)
        if user_id is None:
            return None
        response = self.get("/")
        if response.status_code != 200:
            return None
        return str(User.objects.get(pk=user_id).username)


@pytest.fixture
def visitor() -> Visitor:
    return Visitor()
