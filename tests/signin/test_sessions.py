"""SPEC §2.4 sessions and §2 step 4 (pending = anonymous)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loginguard.audit.models import AuditEvent
from loginguard.devices.cookie import cookie_name
from loginguard.lib import clock
from loginguard.signin.models import UserSession
from tests.conftest import CHROME_LINUX, FIREFOX_WINDOWS, Personas, Visitor, last_code


def test_session_key_rotates_at_sign_in(personas: Personas, visitor: Visitor) -> None:
    visitor.get("/login/")
    visitor.password("bob")
    pending_key = visitor.client.session.session_key
    visitor.code(last_code("bob@acme.example"))
    visitor.trust("no")
    assert visitor.client.session.session_key != pending_key
    assert UserSession.objects.filter(session_key=visitor.client.session.session_key).exists()


def test_a_planted_session_id_does_not_survive_the_password_step(personas: Personas) -> None:
    victim = Visitor()
    victim.get("/login/")
    victim.client.session.save()
    planted = victim.client.session.session_key
    victim.password("bob")
    assert victim.client.session.session_key != planted


PAGES = ["/", "/login/trust/", "/about/"]


@pytest.mark.parametrize("path", PAGES)
def test_force_browsing_while_pending_is_anonymous(personas: Personas, visitor: Visitor,
                                                   path: str) -> None:
    visitor.password("bob")
    response = visitor.get(path)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response.headers["Location"] in ("/login/", "/login/verify/")
    assert b'data-testid="header-username"' not in response.content
    assert cookie_name() not in visitor.client.cookies


def test_logout_while_pending_clears_the_pending_login(personas: Personas,
                                                       visitor: Visitor) -> None:
    visitor.password("bob")
    code = last_code("bob@acme.example")
    visitor.post("/logout/")
    assert "lg_pending" not in visitor.client.session
    assert visitor.code(code).headers["Location"] == "/login/"


def test_logout_is_post_only(personas: Personas, visitor: Visitor) -> None:
    visitor.sign_in(personas.member)
    page = visitor.get("/logout/")  # a confirmation page: only its POST logs out
    assert page.status_code == 200 and b'action="/logout/"' in page.content
    assert visitor.signed_in_as() == "bob"
    visitor.post("/logout/")
    assert visitor.signed_in_as() is None
    assert not UserSession.objects.exists()


def test_logout_needs_csrf(personas: Personas) -> None:
    browser = Visitor(enforce_csrf_checks=True)
    browser.sign_in(personas.member)
    assert browser.post("/logout/").status_code == 403


@pytest.mark.parametrize("change", ["ip", "browser", "os"])
def test_a_device_change_mid_session_signs_out(personas: Personas, visitor: Visitor,
                                               change: str) -> None:
    visitor.sign_in(personas.member)
    if change == "ip":
        visitor.ip = "192.0.2.1"
    else:
        visitor.client.defaults["HTTP_USER_AGENT"] = {"browser": FIREFOX_WINDOWS,
                                                      "os": CHROME_LINUX}[change]
    response = visitor.get("/", follow=True)
    assert b"You were signed out because your IP address" in response.content
    assert visitor.signed_in_as() is None
    assert AuditEvent.objects.filter(event_type="session.fingerprint_changed").count() == 1
    # ... and the next sign-in offers to save the new location.
    visitor.password("bob")
    assert visitor.code(last_code("bob@acme.example")).headers["Location"] == "/login/trust/"


def test_ip_change_within_the_network_policy_keeps_the_session(personas: Personas,
                                                               visitor: Visitor) -> None:
    personas.account.ip_match = "network"
    personas.account.save()
    visitor.sign_in(personas.member)
    visitor.ip = "198.51.100.99"
    assert visitor.signed_in_as() == "bob"


def test_idle_timeout_is_60_minutes(personas: Personas, visitor: Visitor) -> None:
    visitor.sign_in(personas.member)
    clock.advance(timedelta(minutes=59))
    assert visitor.signed_in_as() == "bob"
    clock.advance(timedelta(minutes=59))
    assert visitor.signed_in_as() == "bob"  # activity keeps it alive
    clock.advance(timedelta(minutes=60, seconds=1))
    response = visitor.get("/", follow=True)
    assert b"60 minutes without activity" in response.content
    assert visitor.signed_in_as() is None


def test_absolute_lifetime_is_12_hours(personas: Personas, visitor: Visitor) -> None:
    visitor.sign_in(personas.member)
    for _ in range(12):
        clock.advance(timedelta(minutes=59))
        visitor.get("/")
    assert visitor.signed_in_as() == "bob"  # 11 h 48 min
    clock.advance(timedelta(minutes=13))
    response = visitor.get("/", follow=True)
    assert b"12-hour limit" in response.content
    assert visitor.signed_in_as() is None


def test_deleting_the_stored_session_signs_the_browser_out(personas: Personas,
                                                           visitor: Visitor) -> None:
    from loginguard.signin.sessions import sessions_end_all

    visitor.sign_in(personas.member)
    assert sessions_end_all(user=personas.member) == 1
    assert visitor.signed_in_as() is None


def test_deactivating_the_user_ends_their_session_on_the_next_request(
        personas: Personas, visitor: Visitor) -> None:
    visitor.sign_in(personas.member)
    personas.member.is_active = False
    personas.member.save()
    assert visitor.get("/").headers["Location"] == "/login/"


def test_a_user_deactivated_between_password_and_code_goes_no_further(
        personas: Personas, visitor: Visitor) -> None:
    member = personas.member
    visitor.password(member.username)
    code = last_code(member.email)
    member.is_active = False
    member.save()
    assert visitor.get("/login/verify/").headers["Location"] == "/login/"  # restarted
    visitor.password(member.username)  # the same answer as a wrong password now
    assert visitor.code(code).headers.get("Location") != "/login/trust/"
    assert visitor.signed_in_as() is None
    assert not AuditEvent.objects.filter(event_type="code.verified", subject=member).exists()
