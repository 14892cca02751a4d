"""What a newcomer and an operator stumbled on (issue 28): the sign-in page names the app
it continues to, sessions tell themselves apart, confirmations focus the safe choice, the
way back to Manage users, the wording of the alert and the record's header."""

from __future__ import annotations

import re

import pytest

from loginguard.actions.clients import client_create
from loginguard.signin.models import UserSession
from tests.conftest import FIREFOX_LINUX, PASSWORD, Personas, Visitor, emails_to, last_code
from tests.sso.conftest import REDIRECT, authorize, pkce

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_says_which_app_it_continues_to(personas: Personas) -> None:
    platform_app = client_create(name="Acme Campaigns", redirect_uris=[REDIRECT], public=False)
    account_app = client_create(name="Acme Reports", redirect_uris=[REDIRECT], public=False,
                                account=personas.account)
    for app, expected in ((platform_app, b"Sign in to continue to <strong>Acme Campaigns"
                                          b"</strong>."),
                          (account_app, b"Sign in to continue to <strong>Acme Reports"
                                        b"</strong> of Acme.")):
        visitor = Visitor()
        asked = authorize(visitor, app, pkce())
        login = visitor.get(asked.headers["Location"])
        assert expected in login.content, login.content.decode()[:3000]
    # A direct visit names nothing; a stale note for another target is not shown.
    assert b"Sign in to continue" not in Visitor().get("/login/").content
    visitor = Visitor()
    authorize(visitor, platform_app, pkce())
    assert b"Acme Campaigns" not in visitor.get("/login/?next=/users/").content


def test_sessions_tell_themselves_apart(personas: Personas) -> None:
    bob = personas.member
    laptop = Visitor()
    laptop.sign_in(bob, trust="yes", name="Work laptop")
    phone = Visitor(ip="203.0.113.9", user_agent=FIREFOX_LINUX)
    phone.sign_in(bob)
    assert laptop.post("/security/unlock/", {"password": PASSWORD}).status_code == 302
    page = laptop.get(f"/users/{bob.pk}/").content.decode()
    assert re.search(r"Work laptop <span class=\"hint\">\(Chrome on Windows\)</span> "
                     r"<strong>\(this session\)</strong>", page)
    assert "Firefox on Linux" in page
    other = UserSession.objects.get(user=bob, ip="203.0.113.9")
    confirm = laptop.get(f"/security/sessions/{other.pk}/end/").content.decode()
    assert "Sign out “Firefox on Linux” (203.0.113.9)?" in confirm  # said once, not twice
    assert "Firefox on Linux <span class=\"hint\">" not in page
    assert "Signed in " in confirm and "last active " in confirm
    mine = UserSession.objects.get(user=bob, ip=laptop.ip)
    assert mine.device is not None and mine.label == "Work laptop"


def test_confirmations_focus_the_safe_choice(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    visitor.post("/security/unlock/", {"password": PASSWORD})
    page = visitor.get("/security/sessions/end-others/").content.decode()
    cancel = re.search(r"<a [^>]*data-testid=\"confirm-cancel\"[^>]*>", page)
    assert cancel and "autofocus" in cancel.group(0)
    danger = re.search(r"<button type=\"submit\" class=\"button danger\"[^>]*>", page)
    assert danger and "autofocus" not in danger.group(0)
    logout = visitor.get("/logout/").content.decode()
    assert 'autofocus data-testid="confirm-cancel"' in logout


def test_an_admin_on_a_users_record_has_the_way_back(personas: Personas) -> None:
    alice = Visitor()
    alice.sign_in(personas.admin)
    page = alice.get(f"/users/{personas.member.pk}/").content.decode()
    assert (f'<a href="/accounts/{personas.account.pk}/">Manage users of Acme</a> › '
            '<span aria-current="page">bob</span>') in page
    assert "Client user of Acme" in page
    own = alice.get(f"/users/{personas.admin.pk}/").content.decode()
    assert '<span aria-current="page">Edit User</span>' in own
    assert "Client admin of Acme" in own and "client admin</p>" not in own


def test_the_alert_speaks_to_the_reader(personas: Personas) -> None:
    Visitor().sign_in(personas.member)
    [alert] = [m for m in emails_to("bob@acme.example") if "untrusted" in m.subject]
    assert "Someone just signed in to your account (bob)" in str(alert.body)
    assert "Your user bob" not in str(alert.body)


def test_the_trust_page_asks_once(personas: Personas) -> None:
    visitor = Visitor()
    visitor.password("bob")
    visitor.code(last_code("bob@acme.example"))
    page = visitor.get("/login/trust/").content.decode()
    assert page.count("Save this device as trusted?") == 1


def test_gateway_names_read_well(personas: Personas) -> None:
    rita = Visitor()
    rita.sign_in(personas.reseller_user)
    page = rita.get("/gateway/").content.decode()
    assert "'s users" not in page and "the users of Northwind" in page
