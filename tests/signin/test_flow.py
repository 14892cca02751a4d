"""SPEC §2 happy paths and the stage rules, through HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY

from loginguard.audit.models import AuditEvent
from loginguard.devices.cookie import cookie_name
from loginguard.devices.models import TrustedDevice
from loginguard.lib import clock
from loginguard.users.models import User
from tests.conftest import PASSWORD, Personas, Visitor, deliver, emails_to, last_code


def subjects(address: str) -> list[str]:
    return [str(m.subject) for m in emails_to(address)]


def test_untrusted_sign_in_with_no_sends_the_alert(personas: Personas, visitor: Visitor) -> None:
    bob = personas.member
    assert visitor.password("bob").headers["Location"] == "/login/verify/"
    assert visitor.code(last_code(bob.email)).headers["Location"] == "/login/trust/"
    assert visitor.signed_in_as() is None  # not before the last stage
    assert visitor.trust("no").headers["Location"] == "/"
    assert visitor.signed_in_as() == "bob"
    alert = [m for m in emails_to(bob.email) if "untrusted device" in m.subject]
    assert len(alert) == 1
    body = str(alert[0].body)
    assert visitor.ip in body and "Chrome" in body and "Windows" in body
    assert not TrustedDevice.objects.exists()
    assert cookie_name() not in visitor.client.cookies


def test_choosing_no_asks_again_next_time_and_alerts_every_time(personas: Personas,
                                                                visitor: Visitor) -> None:
    for _ in range(2):
        visitor.sign_in(personas.member, trust="no")
        visitor.post("/logout/")
    alerts = [s for s in subjects(personas.member.email) if "untrusted device" in s]
    assert len(alerts) == 2


def test_yes_saves_a_trusted_device_and_the_next_sign_in_skips_the_code(
        personas: Personas, visitor: Visitor) -> None:
    bob = personas.member
    visitor.sign_in(bob, trust="yes", name="Home computer")
    device = TrustedDevice.objects.get(user=bob)
    assert (device.name, device.browser, device.os, device.ip) == (
        "Home computer", "Chrome", "Windows", visitor.ip)
    assert any("new trusted device" in s for s in subjects(bob.email))
    cookie = visitor.client.cookies[cookie_name()]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert device.secret_hash != cookie.value and len(device.secret_hash) == 64
    visitor.post("/logout/")
    sent_before = len(deliver())
    response = visitor.password("bob")
    assert response.headers["Location"] == "/"
    assert visitor.signed_in_as() == "bob"
    assert len(deliver()) == sent_before  # no code, no alert


@pytest.mark.parametrize(("age", "needs_code"), [
    (timedelta(days=30) - timedelta(minutes=1), False),
    (timedelta(days=30) + timedelta(seconds=1), True),
])
def test_trusted_device_asks_for_a_code_after_30_days(personas: Personas, visitor: Visitor,
                                                       age: timedelta, needs_code: bool) -> None:
    visitor.sign_in(personas.member, trust="yes", name="Laptop")
    visitor.post("/logout/")
    clock.advance(age)
    response = visitor.password("bob")
    assert (response.headers["Location"] == "/login/verify/") is needs_code


def test_a_skipped_code_does_not_refresh_the_30_days(personas: Personas,
                                                     visitor: Visitor) -> None:
    visitor.sign_in(personas.member, trust="yes", name="Laptop")
    first_code = TrustedDevice.objects.get().last_code_at
    for _ in range(3):  # sign in every 10 days without a code
        visitor.post("/logout/")
        clock.advance(timedelta(days=10))
        response = visitor.password("bob")
        if response.headers["Location"] != "/":
            break
    assert TrustedDevice.objects.get().last_code_at == first_code
    assert response.headers["Location"] == "/login/verify/"  # day 30+: code again


def test_stale_trusted_device_needs_the_code_but_not_the_prompt(personas: Personas,
                                                                visitor: Visitor) -> None:
    visitor.sign_in(personas.member, trust="yes", name="Laptop")
    visitor.post("/logout/")
    clock.advance(timedelta(days=31))
    visitor.password("bob")
    response = visitor.code(last_code(personas.member.email))
    assert response.headers["Location"] == "/"
    assert visitor.signed_in_as() == "bob"
    assert TrustedDevice.objects.get().last_code_at == clock.now() or \
        clock.now() - TrustedDevice.objects.get().last_code_at < timedelta(seconds=5)


def test_trust_prompt_defaults_to_no_with_a_prefilled_name(personas: Personas,
                                                           visitor: Visitor) -> None:
    visitor.password("bob")
    visitor.code(last_code(personas.member.email))
    html = visitor.get("/login/trust/").content.decode()
    assert 'name="trust" value="no" checked' in html
    assert 'name="trust" value="yes" checked' not in html
    assert 'value="Chrome on Windows"' in html and 'maxlength="64"' in html
    assert ">Continue</button>" in html


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "bad\x00name"])
def test_yes_needs_a_valid_device_name(personas: Personas, visitor: Visitor, name: str) -> None:
    visitor.password("bob")
    visitor.code(last_code(personas.member.email))
    response = visitor.trust("yes", name)
    assert response.status_code == 200
    assert visitor.signed_in_as() is None
    assert not TrustedDevice.objects.exists()
    assert visitor.trust("yes", "Fine name").headers["Location"] == "/"


@pytest.mark.parametrize("choice", ["", "maybe", "YES", "x" * 10_000])
def test_bad_trust_choice_changes_nothing(personas: Personas, visitor: Visitor,
                                          choice: str) -> None:
    visitor.password("bob")
    visitor.code(last_code(personas.member.email))
    response = visitor.post("/login/trust/", {"trust": choice, "device_name": "n"})
    assert response.status_code == 200
    assert visitor.signed_in_as() is None and not TrustedDevice.objects.exists()


def test_at_most_20_devices_least_recently_used_is_evicted(personas: Personas) -> None:
    bob = personas.member
    for n in range(21):
        browser = Visitor(ip=f"203.0.113.{n + 1}")
        browser.sign_in(bob, trust="yes", name=f"Device {n}")
        clock.advance(timedelta(minutes=13))  # stay inside 5 codes an hour
    names = set(TrustedDevice.objects.filter(user=bob).values_list("name", flat=True))
    assert len(names) == 20 and "Device 0" not in names and "Device 20" in names
    assert AuditEvent.objects.filter(event_type="device.evicted", subject=bob).count() == 1


def test_pending_login_holds_ids_and_times_never_the_password(personas: Personas,
                                                              visitor: Visitor) -> None:
    visitor.password("bob")
    session = visitor.client.session
    assert SESSION_KEY not in session
    stored = repr(dict(session.items()))
    assert PASSWORD not in stored
    pending = session["lg_pending"]
    assert set(pending) == {"user_id", "challenge", "started_at", "fingerprint", "stage",
                            "device_id", "auth_hash", "methods", "method", "code_sent",
                            "proof", "enroll"}
    assert pending["methods"] == ["email"] and pending["proof"] == ""
    # An HMAC of the password hash (Django's session auth hash), never the hash itself.
    assert pending["auth_hash"] not in User.objects.get(username="bob").password


def test_pending_login_expires_after_10_minutes(personas: Personas, visitor: Visitor) -> None:
    visitor.password("bob")
    code = last_code(personas.member.email)
    clock.advance(timedelta(minutes=10, seconds=1))
    response = visitor.code(code)
    assert response.headers["Location"] == "/login/"
    assert visitor.signed_in_as() is None


def test_form_contract_of_section_10(personas: Personas, visitor: Visitor) -> None:
    login = visitor.get("/login/").content.decode()
    assert 'name="username"' in login and 'autocomplete="username"' in login
    assert 'name="password"' in login and 'autocomplete="current-password"' in login
    assert ">Log in</button>" in login
    visitor.password("bob")
    verify = visitor.get("/login/verify/").content.decode()
    assert 'name="code"' in verify and 'autocomplete="one-time-code"' in verify
    assert ">Verify</button>" in verify and "Resend code</button>" in verify
    assert "bob@acme.example" not in verify and "b•••@a•••.example" in verify
    reset = visitor.get("/password/reset/").content.decode()
    assert 'name="email"' in reset and 'autocomplete="email"' in reset
    assert ">Send reset link</button>" in reset


def test_signed_in_pages_show_the_username_and_a_logout_form(personas: Personas,
                                                             visitor: Visitor) -> None:
    visitor.sign_in(personas.member)
    html = visitor.get("/").content.decode()
    assert 'data-testid="header-username">bob<' in html
    assert 'action="/logout/"' in html and ">Log out</button>" in html


def test_a_double_clicked_verify_goes_on_to_the_prompt(personas: Personas,
                                                       visitor: Visitor) -> None:
    visitor.password("bob")
    code = last_code(personas.member.email)
    assert visitor.code(code).headers["Location"] == "/login/trust/"
    assert visitor.code(code).headers["Location"] == "/login/trust/"  # the second click
    assert visitor.trust("no").headers["Location"] == "/"


def test_the_trust_prompt_before_the_code_sends_back_to_the_code(personas: Personas,
                                                                 visitor: Visitor) -> None:
    visitor.password("bob")
    assert visitor.trust("no").headers["Location"] == "/login/verify/"
    assert visitor.signed_in_as() is None
    assert visitor.code(last_code(personas.member.email)).headers["Location"] == "/login/trust/"


@pytest.mark.parametrize("secure", [True, False])
def test_device_cookie_is_secure_exactly_when_secure_cookies(personas: Personas,
                                                             visitor: Visitor, settings: object,
                                                             secure: bool) -> None:
    settings.SECURE_COOKIES = secure  # type: ignore[attr-defined]
    visitor.sign_in(personas.member, trust="yes", name="Laptop")
    assert bool(visitor.client.cookies[cookie_name()]["secure"]) is secure


def test_the_trust_step_is_claimed_once(personas: Personas, visitor: Visitor) -> None:
    # Review finding 6 (the concurrent version runs on PostgreSQL in test_race.py): a
    # pending sign-in's trust step can be taken once; a second claim gets nothing.
    from django.db import transaction

    from loginguard.devices.models import TrustedDevice
    from loginguard.signin.models import UserSession
    from loginguard.signin.pending import PendingLogin
    from loginguard.signin.services import trust_claim

    visitor.password("bob")
    visitor.code(last_code("bob@acme.example"))
    pending = PendingLogin.load(visitor.client.session)
    assert pending is not None
    with transaction.atomic():
        assert trust_claim(pending=pending)
    with transaction.atomic():
        assert not trust_claim(pending=pending)
    # The browser's own submit now finds the step taken: no session, device or alert.
    assert visitor.trust("yes", "Laptop").headers["Location"] == "/"
    assert visitor.signed_in_as() is None
    assert not TrustedDevice.objects.exists() and not UserSession.objects.exists()
