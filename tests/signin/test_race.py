"""Concurrency (SPEC §2.1): real threads, each with its own database connection, against
PostgreSQL, where requests truly run at once."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from loginguard.audit.models import AuditEvent
from loginguard.codes.models import OneTimeCode
from loginguard.signin.models import UserSession
from loginguard.throttle import counters
from loginguard.users.models import User
from tests.conftest import PASSWORD, Visitor, last_code

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # SQLite runs one writer at a time, so it cannot show a race; CI runs this file on
    # PostgreSQL (the second `make test` in .ci/run).
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


def in_parallel(n: int, action: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = action()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    # Switch threads every microsecond so the requests really interleave; at the default
    # 5 ms the GIL would run most of each request alone.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    return results


def pending_bob() -> tuple[Visitor, str]:
    from loginguard.actions.tenants import account_create
    from loginguard.actions.users import user_create

    user_create(username="bob", email="bob@acme.example", password=PASSWORD,
                account=account_create(name="Acme"))
    visitor = Visitor()
    visitor.password("bob")
    return visitor, last_code("bob@acme.example")


def clone(visitor: Visitor) -> Visitor:
    twin = Visitor(ip=visitor.ip)
    for key, morsel in visitor.client.cookies.items():
        twin.client.cookies[key] = morsel.value
    return twin


def test_same_valid_code_twenty_times_at_once_signs_in_once() -> None:
    visitor, code = pending_bob()
    twins = [clone(visitor) for _ in range(20)]
    it = iter(twins)
    lock = threading.Lock()

    def submit() -> str:
        with lock:
            twin = next(it)
        response = twin.code(code)
        return f"{response.status_code} {response.headers.get('Location', '')}"

    statuses = in_parallel(20, submit)
    # One passes; the others see a used code, or (if they read the session after the
    # winner moved it on) are sent on to the trust prompt, like a double-click would be.
    assert set(statuses) <= {"200 ", "302 /login/trust/"}
    assert "302 /login/trust/" in statuses
    assert AuditEvent.objects.filter(event_type="code.verified").count() == 1
    assert OneTimeCode.objects.filter(used_at__isnull=False).count() == 1
    assert visitor.trust("no").headers["Location"] == "/"
    assert UserSession.objects.count() == 1


def test_twenty_wrong_codes_at_once_are_all_counted() -> None:
    visitor, code = pending_bob()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    twins = [clone(visitor) for _ in range(20)]
    it = iter(twins)
    lock = threading.Lock()

    def submit() -> str:
        with lock:
            twin = next(it)
        response = twin.code(wrong)
        return f"{response.status_code} {response.headers.get('Location', '')}"

    assert in_parallel(20, submit) == ["200 "] * 20
    assert counters.read(f"code-user:{User.objects.get().pk}").count == 20


def test_twenty_code_requests_at_once_issue_at_most_five() -> None:
    from loginguard.actions.tenants import account_create
    from loginguard.actions.users import user_create
    from loginguard.codes.models import CodePurpose
    from loginguard.codes.services import QuotaError, code_issue

    bob = user_create(username="bob", email="bob@acme.example", password=PASSWORD,
                      account=account_create(name="Acme"))
    counter = iter(range(20))
    lock = threading.Lock()

    def request_code() -> str:
        with lock:
            n = next(counter)
        try:
            code_issue(user=bob, purpose=CodePurpose.LOGIN, challenge=f"challenge-{n}",
                       cooldown=False)
        except QuotaError:
            return "refused"
        return "issued"

    results = in_parallel(20, request_code)
    assert results.count("issued") == 5 and results.count("refused") == 15
    assert OneTimeCode.objects.filter(user=bob).count() == 5


def test_forty_wrong_passwords_at_once_get_five_hashes(hashed_lengths: list[int]) -> None:
    # The review: check-then-count let 6–11 of 40 concurrent guesses reach Argon2.
    pending_bob()
    hashed_lengths.clear()
    in_parallel(40, lambda: Visitor(ip="203.0.113.77").password("bob", "wrong-password-1"))
    assert len(hashed_lengths) == 5
    assert counters.read("pw-user:bob:ip:203.0.113.77").count == 5


def test_per_ip_budget_holds_under_a_burst(hashed_lengths: list[int]) -> None:
    # 27 different usernames from one IP at once: at most 20 hashes (the review saw 27).
    names = iter(f"user{n}" for n in range(27))
    lock = threading.Lock()

    def guess() -> None:
        with lock:
            name = next(names)
        Visitor(ip="203.0.113.78").password(name, "wrong-password-1")

    in_parallel(27, guess)
    assert len(hashed_lengths) == 20


def test_one_trust_form_submitted_ten_times_at_once_signs_in_once() -> None:
    visitor, code = pending_bob()
    assert visitor.code(code).headers["Location"] == "/login/trust/"
    twins = [clone(visitor) for _ in range(10)]
    it = iter(twins)
    lock = threading.Lock()

    def submit() -> str:
        with lock:
            twin = next(it)
        response = twin.trust("yes", "Laptop")
        return f"{response.status_code} {response.headers.get('Location', '')}"

    statuses = in_parallel(10, submit)
    # The winner signs in; a submit that loses the claim is sent on to "/"; one that
    # arrives after the winner rotated the session key finds no pending sign-in and is
    # sent to the login page (its browser is the winner's: nothing is lost).
    assert "302 /" in statuses and set(statuses) <= {"302 /", "302 /login/"}
    from loginguard.devices.models import TrustedDevice
    from loginguard.emails.models import OutgoingEmail

    assert UserSession.objects.count() == 1
    assert TrustedDevice.objects.count() == 1
    assert OutgoingEmail.objects.filter(kind="new_trusted_device").count() == 1
    assert AuditEvent.objects.filter(event_type="login.succeeded").count() == 1


def test_concurrent_token_creations_never_pass_fifty() -> None:
    from loginguard.actions.tenants import account_create
    from loginguard.actions.users import user_create
    from loginguard.apitokens.models import ApiToken
    from loginguard.apitokens.services import MAX_LIVE_TOKENS, api_token_create

    bob = user_create(username="bob", email="bob@acme.example", password=PASSWORD,
                      account=account_create(name="Acme"))
    for n in range(MAX_LIVE_TOKENS - 2):
        api_token_create(user=bob, name=f"t{n}", days=7)

    def create() -> str:
        try:
            api_token_create(user=bob, name="burst", days=7)
        except Exception as exc:  # the ValidationError of the 51st
            return type(exc).__name__
        return "created"

    results = in_parallel(10, create)
    assert results.count("created") == 2
    assert ApiToken.objects.filter(user=bob).count() == MAX_LIVE_TOKENS
