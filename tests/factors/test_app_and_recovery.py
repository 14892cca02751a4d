"""Authenticator apps (TOTP) and recovery codes (SPEC §14): added in the unlocked Security
section, asked at the second step, each step and each code accepted once, wrong codes on
the code step's lock, the secret encrypted at rest under SECRET_KEY and its fallbacks."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.core.management import call_command

from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.devices.request_info import NO_REQUEST
from loginguard.factors import recovery, totp
from loginguard.factors.models import AuthenticatorApp, RecoveryCode
from loginguard.lib import clock
from loginguard.signin.sessions import PROOFS_KEY
from loginguard.throttle import policies
from tests.conftest import PASSWORD, Personas, Visitor, emails_to, last_code
from tests.factors.conftest import add_app, add_recovery_codes, app_code, signed_in_unlocked

pytestmark = pytest.mark.django_db


def events(kind: str, user: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=kind, subject=user))


# --- adding an app ---------------------------------------------------------------------------

def test_adding_an_app_shows_a_server_drawn_qr_and_the_grouped_secret(
        personas: Personas) -> None:
    bob = personas.member
    visitor = signed_in_unlocked(bob)
    page = visitor.get("/security/factors/apps/add/")
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "<script" not in html.split(
        "<main")[1].split("</main>")[0]
    grouped = re.search(r'data-testid="totp-secret"[^>]*>([A-Z2-7 ]+)<', html)
    assert grouped, html
    secret = grouped.group(1).replace(" ", "")
    assert len(secret) == 32 and all(len(g) == 4 for g in grouped.group(1).split())
    # The first code is part of adding it: a wrong one adds nothing.
    wrong = visitor.post("/security/factors/apps/add/", {"name": "Phone", "code": "000000"})
    assert wrong.status_code == 400 and not AuthenticatorApp.objects.filter(user=bob).exists()
    assert b"does not match" in wrong.content
    # The same secret is kept in the session while the user tries again.
    done = visitor.post("/security/factors/apps/add/",
                        {"name": "Phone", "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302
    [app] = AuthenticatorApp.objects.filter(user=bob)
    assert app.name == "Phone" and secret not in app.secret  # encrypted at rest
    assert totp.decrypt(app.secret) == secret
    [added] = events(EventType.FACTOR_ADDED, bob)
    assert added.extra["factor"] == "app"
    assert any("authenticator app" in m.body.lower() and "added" in m.subject.lower()
               for m in emails_to(bob.email))
    # And it shows in the security log (the user's record, unlocked).
    assert b"Sign-in factor added" in visitor.get(f"/users/{bob.pk}/").content


def test_adding_an_app_needs_the_unlocked_section(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    assert visitor.get("/security/factors/apps/add/").status_code == 403
    assert visitor.post("/security/factors/apps/add/",
                        {"name": "x", "code": "123456"}).status_code == 403
    assert not AuthenticatorApp.objects.exists()


@pytest.mark.parametrize("name", ["", " ", "x" * 65, "a\x00b", None])
def test_an_app_needs_a_sensible_name(personas: Personas, name: Any) -> None:
    secret = totp.new_secret()
    with pytest.raises(Exception, match="name"):
        totp.app_add(user=personas.member, name=name, secret=secret, code=app_code(secret),
                     info=NO_REQUEST)
    assert not AuthenticatorApp.objects.exists()


# --- the app at the second step --------------------------------------------------------------

def test_the_second_step_asks_for_the_app_and_each_step_works_once(
        personas: Personas) -> None:
    bob = personas.member
    secret = add_app(bob)
    visitor = Visitor()
    assert visitor.password("bob").headers["Location"] == "/login/verify/"
    page = visitor.get("/login/verify/")
    assert b"Enter the code from your app" in page.content
    assert b'autocomplete="one-time-code"' in page.content and b">Verify<" in page.content
    assert b"Email me a code instead" in page.content and b"Use a recovery code" not in \
        page.content  # no codes yet
    assert not [m for m in emails_to(bob.email) if "verification code" in m.subject]
    code = app_code(secret)
    assert visitor.code(code).headers["Location"] == "/login/trust/"
    visitor.trust("no")
    assert visitor.signed_in_as() == "bob"
    assert visitor.client.session[PROOFS_KEY] == ["password", "app_code"]
    # The same code (the same step) in another sign-in is refused.
    other = Visitor()
    other.password("bob")
    replay = other.code(code)
    assert replay.status_code == 200 and b"each code works once" in replay.content


@pytest.mark.parametrize(("steps", "accepted"), [(-2, False), (-1, True), (1, True),
                                                 (2, False)])
def test_one_step_of_clock_skew_either_way(personas: Personas, steps: int,
                                           accepted: bool) -> None:
    secret = add_app(personas.member)
    clock.advance(timedelta(minutes=5))  # well past the step that confirmed the app
    visitor = Visitor()
    visitor.password("bob")
    response = visitor.code(app_code(secret, steps))
    assert (response.headers.get("Location") == "/login/trust/") is accepted


def test_an_earlier_step_after_a_later_one_is_refused(personas: Personas) -> None:
    secret = add_app(personas.member)
    first = Visitor()
    first.password("bob")
    assert first.code(app_code(secret, 1)).status_code == 302  # the clock-ahead step
    second = Visitor()
    second.password("bob")
    assert second.code(app_code(secret)).status_code == 200  # an older step: replay-like


def test_wrong_app_codes_lock_the_code_step(personas: Personas) -> None:
    secret = add_app(personas.member)
    visitor = Visitor()
    visitor.password("bob")
    for _ in range(policies.CODE_LOCK_FROM):
        visitor.code("000000")
    locked = visitor.code(app_code(secret))  # even the right code, while locked
    assert locked.status_code == 200 and b"Too many wrong codes" in locked.content
    assert events(EventType.CODE_LOCKED, personas.member)
    failed = events(EventType.CODE_FAILED, personas.member)
    assert failed and all(e.extra["factor"] == "app" for e in failed)


def test_email_me_a_code_instead(personas: Personas) -> None:
    add_app(personas.member)
    visitor = Visitor()
    visitor.password("bob")
    visitor.post("/login/verify/method/", {"method": "email"})
    page = visitor.get("/login/verify/")
    assert b"Check your email" in page.content and b"Use your authenticator app" in \
        page.content
    assert visitor.code(last_code("bob@acme.example")).headers["Location"] == "/login/trust/"
    visitor.trust("no")
    assert visitor.client.session[PROOFS_KEY] == ["password", "email_code"]


@pytest.mark.parametrize("method", ["", "sms", "passkey", ["email", "app"], "x" * 500])
def test_choosing_a_method_the_user_has_not_got_changes_nothing(personas: Personas,
                                                                method: Any) -> None:
    add_app(personas.member)
    visitor = Visitor()
    visitor.password("bob")
    response = visitor.post("/login/verify/method/", {"method": method})
    assert response.status_code == 302 and response.headers["Location"] == "/login/verify/"
    assert b"Enter the code from your app" in visitor.get("/login/verify/").content


def test_the_app_secret_survives_a_secret_key_rotation(personas: Personas,
                                                       settings: Any) -> None:
    old_key = settings.SECRET_KEY
    secret = add_app(personas.member)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "n" * 50, [old_key]
    visitor = Visitor()
    visitor.password("bob")
    assert visitor.code(app_code(secret)).headers["Location"] == "/login/trust/"
    # The runbook's step: encrypt again under the new key, then drop the old one.
    call_command("reencrypt_secrets")
    settings.SECRET_KEY_FALLBACKS = []
    clock.advance(timedelta(seconds=31))
    again = Visitor()
    again.password("bob")
    assert again.code(app_code(secret)).headers["Location"] == "/login/trust/"


def test_without_the_key_the_secret_is_unreadable_and_the_app_fails_closed(
        personas: Personas, settings: Any) -> None:
    secret = add_app(personas.member)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "n" * 50, []
    visitor = Visitor()
    visitor.password("bob")
    assert visitor.code(app_code(secret)).status_code == 200


def test_removing_the_app_is_told_and_audited(personas: Personas) -> None:
    bob = personas.member
    visitor = signed_in_unlocked(bob)
    add_app(bob, name="Old phone")
    app = AuthenticatorApp.objects.get(user=bob)
    assert visitor.get(f"/security/factors/apps/{app.pk}/remove/").status_code == 200
    assert visitor.post(f"/security/factors/apps/{app.pk}/remove/").status_code == 302
    assert not AuthenticatorApp.objects.exists()
    assert events(EventType.FACTOR_REMOVED, bob)[0].extra == {"factor": "app",
                                                              "name": "Old phone"}
    assert any("removed" in m.subject.lower() for m in emails_to(bob.email))


def test_nobody_removes_another_users_app(personas: Personas) -> None:
    add_app(personas.stranger)
    app = AuthenticatorApp.objects.get()
    visitor = signed_in_unlocked(personas.admin)
    assert visitor.post(f"/security/factors/apps/{app.pk}/remove/").status_code == 404
    assert AuthenticatorApp.objects.count() == 1


# --- recovery codes ----------------------------------------------------------------------------

def test_recovery_codes_are_ten_hashed_shown_once_and_downloadable(personas: Personas) -> None:
    bob = personas.member
    visitor = signed_in_unlocked(bob)
    add_app(bob)
    response = visitor.post("/security/factors/recovery-codes/", follow=True)
    html = response.content.decode()
    codes = re.findall(r"<li>((?:[a-z0-9]{4}-){3}[a-z0-9]{4})</li>", html)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'download="loginguard-recovery-codes.txt"' in html
    stored = list(RecoveryCode.objects.filter(user=bob).values_list("code_hash", flat=True))
    assert len(stored) == 10 and not any(c.replace("-", "") in "".join(stored) for c in codes)
    # Shown once: the next visit has none of them.
    again = visitor.get(f"/users/{bob.pk}/").content.decode()
    assert not any(code in again for code in codes)
    assert events(EventType.RECOVERY_CODES_GENERATED, bob)
    assert any("recovery codes" in m.subject.lower() for m in emails_to(bob.email))


def test_a_recovery_code_signs_in_once_and_the_user_is_told(personas: Personas) -> None:
    bob = personas.member
    add_app(bob)
    codes = add_recovery_codes(bob)
    visitor = Visitor()
    visitor.password("bob")
    assert b"Use a recovery code" in visitor.get("/login/verify/").content
    page = visitor.get("/login/recovery/")
    assert b'name="recovery_code"' in page.content
    response = visitor.post("/login/recovery/", {"recovery_code": codes[0].upper()})
    assert response.headers["Location"] == "/login/trust/"
    visitor.trust("no")
    assert visitor.client.session[PROOFS_KEY] == ["password", "recovery_code"]
    [used] = events(EventType.RECOVERY_CODE_USED, bob)
    assert used.extra["remaining"] == 9
    [mail] = [m for m in emails_to(bob.email) if "recovery code was used" in m.subject]
    assert "9" in str(mail.body)
    # Used once.
    other = Visitor()
    other.password("bob")
    again = other.post("/login/recovery/", {"recovery_code": codes[0]})
    assert again.status_code == 200 and b"used before" in again.content


@pytest.mark.parametrize("code", ["", "x", "0" * 10, "a" * 5000, ["a", "b"], "\x00" * 10])
def test_bad_recovery_codes_are_refused_and_counted(personas: Personas, code: Any) -> None:
    add_app(personas.member)
    add_recovery_codes(personas.member)
    visitor = Visitor()
    visitor.password("bob")
    response = visitor.post("/login/recovery/", {"recovery_code": code})
    assert response.status_code == 200 and b"alert-error" in response.content
    assert RecoveryCode.objects.filter(used_at__isnull=False).count() == 0


def test_regenerating_replaces_the_old_codes(personas: Personas) -> None:
    bob = personas.member
    old = add_recovery_codes(bob)
    new = recovery.codes_generate(user=bob, info=NO_REQUEST)
    assert set(old).isdisjoint(new) and RecoveryCode.objects.filter(user=bob).count() == 10
    assert not recovery.code_use(user=bob, submitted=old[0], info=NO_REQUEST)
    assert recovery.code_use(user=bob, submitted=new[0], info=NO_REQUEST)
    generated = sorted(events(EventType.RECOVERY_CODES_GENERATED, bob), key=lambda e: e.pk)
    assert [e.extra for e in generated] == [{"replaced": False}, {"replaced": True}]


def test_recovery_codes_survive_a_secret_key_rotation(personas: Personas,
                                                      settings: Any) -> None:
    # Stored as SHA-256 of 79 random bits: no key, so even a rotation without the
    # fallback (after a leak) keeps them.
    codes = add_recovery_codes(personas.member)
    assert all(len(code.replace("-", "")) == 16 for code in codes)
    settings.SECRET_KEY_FALLBACKS = []
    settings.SECRET_KEY = "r" * 50
    assert recovery.code_use(user=personas.member, submitted=codes[3], info=NO_REQUEST)


def test_another_users_recovery_code_does_not_work(personas: Personas) -> None:
    codes = add_recovery_codes(personas.admin)
    add_app(personas.member)
    add_recovery_codes(personas.member)
    visitor = Visitor()
    visitor.password("bob")
    assert visitor.post("/login/recovery/", {"recovery_code": codes[0]}).status_code == 200
    assert not RecoveryCode.objects.filter(used_at__isnull=False).exists()


def test_the_password_step_is_still_first(personas: Personas) -> None:
    # No factor page without a password: the recovery and method pages send the browser
    # back to the start.
    visitor = Visitor()
    assert visitor.get("/login/recovery/").headers["Location"] == "/login/"
    assert visitor.post("/login/verify/method/", {"method": "app"}).headers["Location"] \
        == "/login/"
    assert visitor.password("bob", "wrong" + PASSWORD).status_code == 200
