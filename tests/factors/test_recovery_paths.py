"""Recovery needs the factor (SPEC §14): for a user with an app or a passkey, a reset link
(self-service or an admin's), unlocking the Security section (and so an email change) ask
for it or a recovery code; "Reset sign-in factors" for a user who lost everything, from the
admin pages and the CLI; nobody sees another user's factors."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.factors.models import AuthenticatorApp, Passkey, RecoveryCode
from loginguard.lib import clock
from loginguard.signin.models import UserSession
from loginguard.users.models import EmailChange, User
from tests.conftest import PASSWORD, Personas, Visitor, emails_to
from tests.factors.conftest import (
    add_app,
    add_recovery_codes,
    app_code,
    passkey_answer,
    register_passkey,
    second_step_email,
    signed_in_unlocked,
)
from tests.signin.test_password_reset import open_link, reset_link

pytestmark = pytest.mark.django_db
NEW = "a-brand-new-passphrase-42"


def set_password(browser: Visitor, form: str) -> Any:
    return browser.post(form, {"new_password1": NEW, "new_password2": NEW})


def password_is_new(user: User) -> bool:
    return User.objects.get(pk=user.pk).check_password(NEW)


# --- reset links ------------------------------------------------------------------------------

def test_a_reset_link_alone_does_not_set_the_password_of_a_user_with_an_app(
        personas: Personas) -> None:
    bob = personas.member
    secret = add_app(bob)
    Visitor().post("/password/reset/", {"email": bob.email})
    browser = Visitor()
    form = open_link(browser, reset_link(bob.email))
    page = browser.get(form).content
    assert b"Confirm it" in page and b"new_password1" not in page
    # The password fields posted directly are not taken.
    assert set_password(browser, form).status_code == 200 and not password_is_new(bob)
    wrong = browser.post(form, {"step": "factor", "code": "000000"})
    assert wrong.status_code == 400 and not password_is_new(bob)
    assert browser.post(form, {"step": "factor", "code": app_code(secret)}).status_code == 302
    assert b"new_password1" in browser.get(form).content
    assert set_password(browser, form).status_code == 302 and password_is_new(bob)


def test_a_recovery_code_opens_the_reset_link_too(personas: Personas) -> None:
    bob = personas.member
    add_app(bob)
    codes = add_recovery_codes(bob)
    Visitor().post("/password/reset/", {"email": bob.email})
    browser = Visitor()
    form = open_link(browser, reset_link(bob.email))
    browser.post(form, {"step": "factor", "recovery_code": codes[0]})
    assert set_password(browser, form).status_code == 302 and password_is_new(bob)
    assert RecoveryCode.objects.filter(user=bob, used_at__isnull=False).count() == 1


def test_a_passkey_opens_the_reset_link(personas: Personas) -> None:
    bob = personas.member
    key = register_passkey(signed_in_unlocked(bob))
    Visitor().post("/password/reset/", {"email": bob.email})
    browser = Visitor()
    form = open_link(browser, reset_link(bob.email))
    uid = form.split("/")[3]
    page = browser.get(form).content
    assert b"Use your passkey" in page
    answer = passkey_answer(browser, key, f"/password/reset/{uid}/factor/passkey/options/",
                            f"/password/reset/{uid}/factor/passkey/")
    assert answer.json() == {"ok": True, "redirect": form}
    assert set_password(browser, form).status_code == 302 and password_is_new(bob)


def test_the_factor_of_one_link_does_not_open_another_browsers(personas: Personas) -> None:
    bob = personas.member
    secret = add_app(bob)
    Visitor().post("/password/reset/", {"email": bob.email})
    link = reset_link(bob.email)
    first, second = Visitor(), Visitor()
    form = open_link(first, link)
    first.post(form, {"step": "factor", "code": app_code(secret)})
    open_link(second, link)
    assert b"Confirm it" in second.get(form).content
    assert set_password(second, form).status_code == 200 and not password_is_new(bob)


def test_an_admins_reset_email_asks_for_the_factor_too(personas: Personas) -> None:
    bob = personas.member
    add_app(bob)
    alice = Visitor()
    alice.sign_in(personas.admin)
    alice.post(f"/accounts/{personas.account.pk}/users/{bob.pk}/reset/")
    browser = Visitor()
    form = open_link(browser, reset_link(bob.email))
    assert b"Confirm it" in browser.get(form).content
    assert set_password(browser, form).status_code == 200 and not password_is_new(bob)


def test_a_user_without_a_factor_resets_with_the_link_alone(personas: Personas) -> None:
    bob = personas.member
    Visitor().post("/password/reset/", {"email": bob.email})
    browser = Visitor()
    form = open_link(browser, reset_link(bob.email))
    assert set_password(browser, form).status_code == 302 and password_is_new(bob)


# --- unlocking and the email change -------------------------------------------------------------

def test_unlocking_asks_for_the_app_code_too(personas: Personas) -> None:
    bob = personas.member
    secret = add_app(bob)
    visitor = Visitor()
    visitor.password("bob")
    visitor.code(app_code(secret))
    visitor.trust("no")
    record = f"/users/{bob.pk}/"
    assert b"Code from your authenticator app" in visitor.get(record).content
    for fields in ({"password": PASSWORD}, {"password": PASSWORD, "code": "000000"},
                   {"password": "wrong", "code": app_code(secret, 1)}):
        visitor.post("/security/unlock/", fields)
        assert b"Lock now" not in visitor.get(record).content, fields
    visitor.post("/security/unlock/", {"password": PASSWORD, "code": app_code(secret, 1)})
    assert b"Lock now" in visitor.get(record).content
    event = AuditEvent.objects.filter(event_type=EventType.SECURITY_UNLOCKED).latest("id")
    assert event.extra == {"with": "password+app"}


def test_the_email_change_of_a_user_with_a_factor_needs_it(personas: Personas) -> None:
    """The new address is confirmed in the unlocked section, which asks for the factor:
    someone holding only the password and the mailbox cannot move the account."""
    bob = personas.member
    secret = add_app(bob)
    visitor = Visitor()
    visitor.password("bob")
    # The mailbox passes the second step ("Email me a code instead", level email) ...
    assert second_step_email(visitor, bob).headers["Location"] == "/login/trust/"
    visitor.trust("no")
    details = {"email": "thief@evil.example", "first_name": "", "last_name": "",
               "phone": "", "time_zone": "UTC"}
    # ... but not the unlock that changing the address needs.
    visitor.post("/security/unlock/", {"password": PASSWORD})
    visitor.post(f"/users/{bob.pk}/", details)
    assert not EmailChange.objects.filter(user=bob).exists()
    assert not emails_to("thief@evil.example")
    # With the app's code the owner unlocks, and the change starts.
    visitor.post("/security/unlock/", {"password": PASSWORD, "code": app_code(secret, 1)})
    visitor.post(f"/users/{bob.pk}/", details)
    assert EmailChange.objects.filter(user=bob, new_email="thief@evil.example").exists()
    assert emails_to("thief@evil.example")


# --- reset sign-in factors -------------------------------------------------------------------

def bob_with_everything(personas: Personas) -> Visitor:
    bob = personas.member
    visitor = signed_in_unlocked(bob)
    register_passkey(visitor)
    add_app(bob)
    add_recovery_codes(bob)
    return visitor


@pytest.mark.parametrize("who", ["admin", "reseller_user"])
def test_reset_sign_in_factors_from_the_admin_page(personas: Personas, who: str) -> None:
    bobs_browser = bob_with_everything(personas)
    bob = personas.member
    admin = Visitor()
    admin.sign_in(getattr(personas, who))
    url = f"/accounts/{personas.account.pk}/users/{bob.pk}/reset-factors/"
    page = admin.get(f"/accounts/{personas.account.pk}/").content.decode()
    assert "Reset sign-in factors" in page
    assert 'data-testid="factors-bob">Passkey, App, Recovery codes' in page
    assert admin.get(url).status_code == 200  # the confirmation
    assert admin.post(url).status_code == 302
    assert not Passkey.objects.filter(user=bob).exists()
    assert not AuthenticatorApp.objects.filter(user=bob).exists()
    assert not RecoveryCode.objects.filter(user=bob).exists()
    assert not UserSession.objects.filter(user=bob).exists()
    assert bobs_browser.signed_in_as() is None
    event = AuditEvent.objects.get(event_type=EventType.FACTORS_RESET)
    assert event.actor_id == getattr(personas, who).pk
    assert event.extra == {"passkeys": 1, "apps": 1, "recovery_codes": 10}
    assert [m for m in emails_to(bob.email) if "factors were reset" in m.subject]


@pytest.mark.parametrize("who", ["member", "stranger", "other_reseller_user"])
def test_others_cannot_reset_or_see_factors(personas: Personas, who: str) -> None:
    bobs_browser = bob_with_everything(personas)
    visitor = bobs_browser if who == "member" else Visitor()
    if who != "member":
        visitor.sign_in(getattr(personas, who))
    url = f"/accounts/{personas.account.pk}/users/{personas.member.pk}/reset-factors/"
    assert visitor.get(url).status_code == 404
    assert visitor.post(url).status_code == 404
    assert visitor.get(f"/accounts/{personas.account.pk}/").status_code == 404
    assert Passkey.objects.filter(user=personas.member).exists()
    assert not AuditEvent.objects.filter(event_type=EventType.FACTORS_RESET).exists()


def test_an_admin_cannot_reset_a_user_of_another_account(personas: Personas) -> None:
    add_app(personas.stranger)
    admin = Visitor()
    admin.sign_in(personas.admin)
    url = f"/accounts/{personas.account.pk}/users/{personas.stranger.pk}/reset-factors/"
    assert admin.post(url).status_code == 404
    assert AuthenticatorApp.objects.filter(user=personas.stranger).exists()


def test_the_admin_list_filters_users_with_no_factor_beyond_email(personas: Personas) -> None:
    add_app(personas.member)
    admin = Visitor()
    admin.sign_in(personas.admin)
    everyone = admin.get(f"/accounts/{personas.account.pk}/").content.decode()
    assert 'data-testid="factors-bob">App' in everyone
    assert 'data-testid="factors-alice"><span class="hint">Email only' in everyone
    only = admin.get(f"/accounts/{personas.account.pk}/?factors=none").content.decode()
    assert 'data-testid="factors-alice"' in only and 'data-testid="factors-bob"' not in only
    # No secret of any factor is on the page.
    app = AuthenticatorApp.objects.get(user=personas.member)
    assert app.secret not in everyone


def test_reset_factors_from_the_cli(personas: Personas) -> None:
    bob_with_everything(personas)
    out = StringIO()
    call_command("reset_factors", "BOB", stdout=out)
    assert "Reset the sign-in factors of bob" in out.getvalue()
    assert not Passkey.objects.exists() and not AuthenticatorApp.objects.exists()
    event = AuditEvent.objects.get(event_type=EventType.FACTORS_RESET)
    assert event.actor_id is None and event.extra["via"] == "cli"
    with pytest.raises(CommandError):
        call_command("reset_factors", "nobody")


def test_after_a_reset_the_user_enrols_again_under_the_policy(personas: Personas) -> None:
    from loginguard.tenancy.models import ClientAccount

    bob_with_everything(personas)
    ClientAccount.objects.filter(pk=personas.account.pk).update(factor_policy="passkey")
    call_command("reset_factors", "bob", stdout=StringIO())
    clock.advance(timedelta(minutes=2))  # a code a minute at most
    visitor = Visitor()
    visitor.sign_in(personas.member)
    assert visitor.get("/").headers["Location"] == "/security/factors/enroll/"


def test_no_one_exports_factor_secrets_through_the_api(personas: Personas) -> None:
    from loginguard.apitokens.services import api_token_create

    register_passkey(signed_in_unlocked(personas.member))
    add_app(personas.member)
    _, token = api_token_create(user=personas.admin, name="t", days=7)
    client = Visitor().client
    users = client.get("/api/v1/users", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    bob = next(u for u in users["items"] if u["username"] == "bob")
    assert bob["factors"] == ["passkey", "app"]
    alice = next(u for u in users["items"] if u["username"] == "alice")
    assert alice["factors"] == []
    text = str(users)
    assert AuthenticatorApp.objects.get().secret not in text
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert me["factors"] == []
    schema = client.get("/api/v1/openapi.json").json()
    assert "factors" in schema["components"]["schemas"]["MeOut"]["properties"]




@pytest.mark.parametrize(("actor", "target"), [("member", "admin"), ("stranger", "member"),
                                             ("other_reseller_user", "member")])
def test_the_reset_itself_refuses_those_who_do_not_administer_the_user(
        personas: Personas, actor: str, target: str) -> None:
    from django.core.exceptions import PermissionDenied

    from loginguard.actions.credentials import factors_reset

    user = getattr(personas, target)
    add_app(user)
    with pytest.raises(PermissionDenied):
        factors_reset(actor=getattr(personas, actor), target=user)
    assert AuthenticatorApp.objects.filter(user=user).exists()
