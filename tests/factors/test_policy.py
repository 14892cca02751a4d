"""Per-account factor policy (SPEC §14): the levels email, app_or_passkey and passkey, a
stricter one for admins, a reseller's default for its accounts; set by client admins, by
reseller users and the CLI, audited, the affected users emailed; a user without the factor
signs in with what they have once more and cannot reach anything but the enrolment until
they add it; from then on the emailed code is no longer accepted."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.factors.models import AuthenticatorApp
from loginguard.lib import clock
from loginguard.signin.sessions import ENROLL_KEY
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.tenancy.policy import factor_level_for
from loginguard.users.models import User
from tests.conftest import PASSWORD, Personas, Visitor, emails_to, last_code
from tests.factors.conftest import add_app, app_code, register_passkey, second_step_email

pytestmark = pytest.mark.django_db


def set_account(account: ClientAccount, level: str = "", admins: str = "") -> None:
    ClientAccount.objects.filter(pk=account.pk).update(factor_policy=level,
                                                       admin_factor_policy=admins)


def email_sign_in(user: User, visitor: Visitor | None = None) -> Visitor:
    """Password and the emailed code (the only factor the user has), trusting nothing."""
    visitor = visitor or Visitor()
    assert visitor.password(user.username).headers["Location"] == "/login/verify/"
    assert visitor.code(last_code(user.email)).headers["Location"] == "/login/trust/"
    visitor.trust("no")
    return visitor


def add_app_in_browser(visitor: Visitor) -> Any:
    page = visitor.get("/security/factors/apps/add/").content.decode()
    secret = re.search(r'data-testid="totp-secret"[^>]*>([A-Z2-7 ]+)<', page)
    assert secret, page
    return visitor.post("/security/factors/apps/add/", {
        "name": "Phone", "code": pyotp.TOTP(secret.group(1).replace(" ", "")).now()})


# --- levels at sign-in ----------------------------------------------------------------------

def test_email_level_is_the_default_and_changes_nothing(personas: Personas) -> None:
    assert factor_level_for(personas.member) == "email"
    visitor = email_sign_in(personas.member)
    assert ENROLL_KEY not in visitor.client.session
    assert visitor.get("/").status_code == 200


def test_app_or_passkey_makes_a_user_without_one_enrol_before_anything_else(
        personas: Personas) -> None:
    set_account(personas.account, "app_or_passkey")
    bob = personas.member
    visitor = Visitor()
    visitor.password("bob")
    page = visitor.get("/login/verify/").content
    assert b"Right after this sign-in you will add one" in page
    visitor.code(last_code(bob.email))
    assert visitor.trust("no").headers["Location"] == "/"
    assert visitor.client.session[ENROLL_KEY] == "app_or_passkey"
    # Every page sends them to the enrolment, and back where they were going after it.
    for path in ("/", f"/users/{bob.pk}/", "/o/authorize/?client_id=x", "/users/"):
        response = visitor.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/security/factors/enroll/", path
    assert visitor.post(f"/users/{bob.pk}/", {"first_name": "B"}).headers["Location"] == \
        "/security/factors/enroll/"
    enroll = visitor.get("/security/factors/enroll/")
    assert enroll.status_code == 200 and b"Add an authenticator app" in enroll.content
    # Forward auth answers 401 towards the enrolment page.
    forward = visitor.get("/auth/forward", HTTP_X_ORIGINAL_URL="https://app.example/")
    assert forward.status_code == 401
    assert forward.headers["Location"].endswith("/security/factors/enroll/")
    # Adding the app ends the enrolment and goes on to the last page asked for.
    done = add_app_in_browser(visitor)
    assert done.status_code == 302 and done.headers["Location"] == "/users/"
    assert ENROLL_KEY not in visitor.client.session
    assert visitor.get("/").status_code == 200


def test_after_enrolling_the_emailed_code_is_no_longer_accepted(personas: Personas) -> None:
    set_account(personas.account, "app_or_passkey")
    secret = add_app(personas.member)
    visitor = Visitor()
    visitor.password("bob")
    page = visitor.get("/login/verify/").content
    assert b"Email me a code instead" not in page
    visitor.post("/login/verify/method/", {"method": "email"})
    assert not [m for m in emails_to("bob@acme.example") if "verification code" in m.subject]
    assert b"Enter the code from your app" in visitor.get("/login/verify/").content
    assert visitor.code(app_code(secret)).headers["Location"] == "/login/trust/"


def test_passkey_level_accepts_only_a_passkey_once_the_user_has_one(
        personas: Personas) -> None:
    set_account(personas.account, "passkey")
    bob = personas.member
    secret = add_app(bob)
    # An app is not enough: the app signs in once more, then a passkey must be added.
    visitor = Visitor()
    visitor.password("bob")
    assert visitor.code(app_code(secret)).headers["Location"] == "/login/trust/"
    visitor.trust("no")
    assert visitor.client.session[ENROLL_KEY] == "passkey"
    enroll = visitor.get("/security/factors/enroll/").content
    assert b"Add a passkey" in enroll and b"Add an authenticator app" not in enroll
    assert visitor.get("/security/factors/apps/add/").status_code == 200  # reachable, but
    key = register_passkey(visitor)  # only the passkey ends the enrolment
    assert ENROLL_KEY not in visitor.client.session
    # Now neither the app nor the email is offered.
    later = Visitor()
    later.password("bob")
    page = later.get("/login/verify/").content
    assert b"Use your passkey" in page and b"Email me a code instead" not in page
    assert b"Use your authenticator app" not in page
    assert later.code(app_code(secret, 1)).status_code == 302  # not at a code method
    assert later.get("/login/verify/").status_code == 200 and later.signed_in_as() is None
    assert key.credential_id


def test_a_stricter_level_for_admins_alone(personas: Personas) -> None:
    set_account(personas.account, "", admins="app_or_passkey")
    assert factor_level_for(User.objects.get(pk=personas.admin.pk)) == "app_or_passkey"
    assert factor_level_for(User.objects.get(pk=personas.member.pk)) == "email"
    assert ENROLL_KEY in email_sign_in(personas.admin).client.session
    assert ENROLL_KEY not in email_sign_in(personas.member).client.session


def test_the_resellers_default_applies_to_accounts_that_inherit(personas: Personas) -> None:
    Reseller.objects.filter(pk=personas.reseller.pk).update(
        accounts_factor_policy="app_or_passkey")
    assert factor_level_for(User.objects.get(pk=personas.member.pk)) == "app_or_passkey"
    assert factor_level_for(User.objects.get(pk=personas.stranger.pk)) == "email"  # Globex
    set_account(personas.account, "email")  # the account's own level wins
    assert factor_level_for(User.objects.get(pk=personas.member.pk)) == "email"
    # The reseller's own users follow its factor_policy.
    Reseller.objects.filter(pk=personas.reseller.pk).update(factor_policy="passkey")
    assert factor_level_for(User.objects.get(pk=personas.reseller_user.pk)) == "passkey"


def test_a_trusted_device_does_not_skip_the_enrolment(personas: Personas) -> None:
    bob = personas.member
    visitor = Visitor()
    visitor.sign_in(bob, trust="yes", name="Laptop")
    visitor.post("/logout/")
    set_account(personas.account, "app_or_passkey")
    assert visitor.password("bob").headers["Location"] == "/"  # the trusted device
    assert visitor.get("/").headers["Location"] == "/security/factors/enroll/"


def test_removing_the_last_factor_the_policy_needs_is_refused(personas: Personas) -> None:
    set_account(personas.account, "app_or_passkey")
    bob = personas.member
    secret = add_app(bob)
    visitor = Visitor()
    visitor.password("bob")
    visitor.code(app_code(secret))
    visitor.trust("yes", "Laptop")
    clock.advance(timedelta(seconds=31))
    visitor.post("/security/unlock/", {"password": PASSWORD, "code": app_code(secret)})
    app = AuthenticatorApp.objects.get(user=bob)
    response = visitor.post(f"/security/factors/apps/{app.pk}/remove/", follow=True)
    assert b"add another before you remove this one" in response.content
    assert AuthenticatorApp.objects.filter(user=bob).exists()


# --- setting the policy -------------------------------------------------------------------

def admin_visitor(personas: Personas) -> Visitor:
    visitor = Visitor()
    assert visitor.sign_in(personas.admin).headers["Location"] == "/"
    return visitor


def test_a_client_admin_sets_the_accounts_policy(personas: Personas) -> None:
    visitor = admin_visitor(personas)
    page = visitor.get(f"/accounts/{personas.account.pk}/").content
    assert b"Sign-in factors required" in page and b'name="admin_factor_policy"' in page
    response = visitor.post(f"/accounts/{personas.account.pk}/factor-policy/",
                            {"factor_policy": "app_or_passkey", "admin_factor_policy": ""})
    assert response.status_code == 302
    account = ClientAccount.objects.get(pk=personas.account.pk)
    assert account.factor_policy == "app_or_passkey"
    event = AuditEvent.objects.get(event_type=EventType.ACCOUNT_FACTOR_POLICY_CHANGED)
    assert event.extra["factor_policy"] == {"from": "", "to": "app_or_passkey"}
    assert event.actor_id == personas.admin.pk
    for user in (personas.admin, personas.member):
        [mail] = [m for m in emails_to(user.email) if "asks for" in m.subject]
        assert "authenticator app or a passkey" in mail.subject.lower()
    assert not [m for m in emails_to(personas.stranger.email) if "asks for" in m.subject]


@pytest.mark.parametrize("values", [
    {"factor_policy": "sms"}, {"factor_policy": "PASSKEY"},
    {"factor_policy": "email", "admin_factor_policy": "x"}, {"factor_policy": "x" * 500},
])
def test_bad_levels_change_nothing(personas: Personas, values: dict[str, str]) -> None:
    visitor = admin_visitor(personas)
    response = visitor.post(f"/accounts/{personas.account.pk}/factor-policy/", values)
    assert response.status_code == 400 and b"Choose email" in response.content
    account = ClientAccount.objects.get(pk=personas.account.pk)
    assert (account.factor_policy, account.admin_factor_policy) == ("", "")
    assert not AuditEvent.objects.filter(
        event_type=EventType.ACCOUNT_FACTOR_POLICY_CHANGED).exists()


@pytest.mark.parametrize("who", ["member", "stranger", "other_reseller_user"])
def test_others_cannot_set_the_accounts_policy(personas: Personas, who: str) -> None:
    visitor = Visitor()
    visitor.sign_in(getattr(personas, who))
    response = visitor.post(f"/accounts/{personas.account.pk}/factor-policy/",
                            {"factor_policy": "passkey"})
    assert response.status_code == 404
    assert ClientAccount.objects.get(pk=personas.account.pk).factor_policy == ""


def test_a_reseller_user_sets_its_own_and_its_accounts_default(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.reseller_user)
    page = visitor.get("/gateway/").content
    assert b'name="accounts_factor_policy"' in page
    visitor.post("/gateway/factor-policy/", {"factor_policy": "app_or_passkey",
                                             "accounts_factor_policy": "app_or_passkey"})
    reseller = Reseller.objects.get(pk=personas.reseller.pk)
    assert (reseller.factor_policy, reseller.accounts_factor_policy) == (
        "app_or_passkey", "app_or_passkey")
    assert AuditEvent.objects.filter(
        event_type=EventType.RESELLER_FACTOR_POLICY_CHANGED).count() == 1
    # The accounts that inherit are affected: their users are told.
    assert [m for m in emails_to(personas.member.email) if "asks for" in m.subject]
    # A connected reseller user may set the account's own level too.
    assert visitor.post(f"/accounts/{personas.account.pk}/factor-policy/",
                        {"factor_policy": "passkey"}).status_code == 302
    other = Reseller.objects.get(pk=personas.other_reseller.pk)
    assert other.factor_policy == "email"


def test_the_cli_sets_policies(personas: Personas) -> None:
    out = StringIO()
    call_command("set_factor_policy", "--account", "Acme", "passkey", stdout=out)
    assert "is passkey" in out.getvalue()
    call_command("set_factor_policy", "--account", "Acme", "--admins", "passkey", stdout=out)
    call_command("set_factor_policy", "--reseller", "Northwind", "--accounts-default",
                 "app_or_passkey", stdout=out)
    account = ClientAccount.objects.get(pk=personas.account.pk)
    assert (account.factor_policy, account.admin_factor_policy) == ("passkey", "passkey")
    events = AuditEvent.objects.filter(event_type__in=[
        EventType.ACCOUNT_FACTOR_POLICY_CHANGED, EventType.RESELLER_FACTOR_POLICY_CHANGED])
    assert events.count() == 3 and all(e.extra["via"] == "cli" and e.actor_id is None
                                       for e in events)
    call_command("set_factor_policy", "--account", "Acme", "inherit", stdout=out)
    assert ClientAccount.objects.get(pk=personas.account.pk).factor_policy == ""
    for bad in (["--account", "Nope", "email"], ["--reseller", "Northwind", "inherit"],
                ["--account", "Acme", "--accounts-default", "email"]):
        with pytest.raises(CommandError):
            call_command("set_factor_policy", *bad, stdout=out)


def test_the_cli_refuses_an_unknown_level(personas: Personas) -> None:
    with pytest.raises(CommandError):
        call_command("set_factor_policy", "--account", "Acme", "sms")
    assert ClientAccount.objects.get(pk=personas.account.pk).factor_policy == ""


def test_second_step_email_helper_still_works(personas: Personas) -> None:
    add_app(personas.member)
    visitor = Visitor()
    visitor.password("bob")
    assert second_step_email(visitor, personas.member).headers["Location"] == "/login/trust/"
    assert isinstance(visitor.client, Client)
