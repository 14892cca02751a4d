"""GET /auth/forward (SPEC §12): the same session rules as the pages, for a reverse
proxy's sub-request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.lib import clock
from loginguard.signin.models import UserSession
from tests.conftest import (
    CHROME_LINUX,
    CHROME_WINDOWS,
    HOME_IP,
    PASSWORD,
    Personas,
    Visitor,
)
from tests.forwardauth.conftest import APP, PROXY_IP


def forward(visitor: Visitor, *, ip: str = HOME_IP, user_agent: str = CHROME_WINDOWS,
            original: str = f"{APP}/reports?month=11", method: str = "get",
            **headers: str) -> Any:
    """The proxy's sub-request for this browser: its cookies and User-Agent, from the
    proxy's address, with the client's IP in X-Forwarded-For."""
    return getattr(visitor.client, method)(
        "/auth/forward", REMOTE_ADDR=PROXY_IP, HTTP_X_FORWARDED_FOR=ip,
        HTTP_USER_AGENT=user_agent, HTTP_X_ORIGINAL_URL=original, **headers)


def login_location(original: str | None = None) -> str:
    base = "http://auth.example.test/login/"
    return base if original is None else f"{base}?next={quote(original, safe='')}"


def test_anonymous_gets_401_pointing_at_sign_in_with_the_original_url(db: None) -> None:
    response = forward(Visitor())
    assert response.status_code == 401
    assert response.headers["Location"] == login_location(f"{APP}/reports?month=11")
    assert response.headers["Cache-Control"] == "no-store"
    assert "X-Auth-User" not in response.headers


@pytest.mark.parametrize("original", [
    "http://evil.example/x", "http://app.example.test.evil.example/", "javascript:alert(1)",
    "//evil.example/", "http://app.example.test:99999/", "x" * 5000, "http://[::1/"])
def test_a_url_outside_the_guarded_hosts_is_never_a_next(db: None, original: str) -> None:
    response = forward(Visitor(), original=original)
    assert response.status_code == 401
    assert response.headers["Location"] == login_location()


def test_the_original_url_counts_only_from_a_trusted_proxy(db: None) -> None:
    response = Visitor().client.get("/auth/forward", REMOTE_ADDR=HOME_IP,
                                    HTTP_X_ORIGINAL_URL=f"{APP}/reports")
    assert response.status_code == 401
    assert response.headers["Location"] == login_location()


def test_traefik_and_caddy_headers_name_the_original_url(db: None) -> None:
    response = Visitor().client.get(
        "/auth/forward", REMOTE_ADDR=PROXY_IP, HTTP_X_FORWARDED_PROTO="http",
        HTTP_X_FORWARDED_HOST="wiki.tools.example.test", HTTP_X_FORWARDED_URI="/page/1")
    assert response.headers["Location"] == login_location(
        "http://wiki.tools.example.test/page/1")


@pytest.mark.parametrize(("persona", "role", "account", "reseller"), [
    ("member", "client_user", "account", ""),
    ("admin", "client_admin", "account", ""),
    ("reseller_user", "reseller_user", "", "reseller"),
])
def test_a_signed_in_browser_gets_200_with_who_it_is(
        personas: Personas, persona: str, role: str, account: str, reseller: str) -> None:
    user = getattr(personas, persona)
    visitor = Visitor()
    visitor.sign_in(user)
    response = forward(visitor)
    assert response.status_code == 200
    assert response.headers["X-Auth-User"] == user.username
    assert response.headers["X-Auth-User-Id"] == str(user.pk)
    assert response.headers["X-Auth-Email"] == user.email
    assert response.headers["X-Auth-Role"] == role
    # Never empty (issue 25, finding 17): "-" where there is none.
    assert response.headers["X-Auth-Account"] == (
        str(getattr(personas, account).pk) if account else "-")
    assert response.headers["X-Auth-Reseller"] == (
        str(getattr(personas, reseller).pk) if reseller else "-")


def test_the_common_case_is_one_read_and_no_write(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    forward(visitor)  # notes the activity once (at most once a minute)
    with CaptureQueriesContext(connection) as queries:
        response = forward(visitor)
    assert response.status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert queries[0]["sql"].lstrip().upper().startswith("SELECT")


def test_any_method_is_answered_without_csrf(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    visitor.client.handler.enforce_csrf_checks = True
    assert forward(visitor, method="post").status_code == 200
    assert forward(visitor, method="delete").status_code == 200
    assert forward(Visitor(enforce_csrf_checks=True), method="post").status_code == 401


@pytest.mark.parametrize(("ip", "user_agent"), [
    ("203.0.113.9", CHROME_WINDOWS),  # IP changed (the account's policy is "exact")
    (HOME_IP, CHROME_LINUX),          # OS changed
])
def test_a_changed_device_ends_the_session_and_gets_401(
        personas: Personas, ip: str, user_agent: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    response = forward(visitor, ip=ip, user_agent=user_agent)
    assert response.status_code == 401
    assert response.headers["Location"] == login_location(f"{APP}/reports?month=11")
    assert AuditEvent.objects.filter(subject=personas.member,
                                     event_type=EventType.SESSION_FINGERPRINT_CHANGED).exists()
    assert not UserSession.objects.filter(user=personas.member).exists()
    # Ended, not only refused: back at the first device, the session is gone too.
    assert forward(visitor).status_code == 401
    assert visitor.signed_in_as() is None


def test_idle_and_absolute_limits_hold_and_forwarded_activity_counts(
        personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    for _ in range(3):
        clock.advance(timedelta(minutes=59))
        assert forward(visitor).status_code == 200  # activity in the app keeps it alive
    clock.advance(timedelta(minutes=60, seconds=1))
    assert forward(visitor).status_code == 401
    assert visitor.signed_in_as() is None

    visitor = Visitor()
    visitor.sign_in(personas.member)
    for _ in range(12):
        clock.advance(timedelta(minutes=59))
        forward(visitor)
    assert forward(visitor).status_code == 200  # 11 h 48 min
    clock.advance(timedelta(minutes=13))
    assert forward(visitor).status_code == 401


@pytest.mark.parametrize("change", ["deactivate", "suspend_account", "account_flag_only",
                                    "end_sessions", "password_elsewhere"])
def test_a_user_who_may_no_longer_sign_in_is_refused_on_the_next_request(
        personas: Personas, change: str) -> None:
    from loginguard.actions.tenants import account_set_active
    from loginguard.signin.sessions import sessions_end_all

    user = personas.member
    visitor = Visitor()
    visitor.sign_in(user)
    assert forward(visitor).status_code == 200
    if change == "deactivate":
        user.is_active = False
        user.save()
    elif change == "suspend_account":
        account_set_active(account=personas.account, active=False, actor=None)
    elif change == "account_flag_only":  # the flag alone, with its sessions left in place
        type(personas.account).objects.filter(pk=personas.account.pk).update(is_active=False)
    elif change == "end_sessions":
        sessions_end_all(user=user)
    else:  # the password changed without this session's knowledge: its hash is stale
        user.set_password(PASSWORD + "-new")
        user.save()
    assert forward(visitor).status_code == 401


@pytest.mark.parametrize("cookie", ["", "x", "a" * 32, "A" * 32, "é" * 32, "a" * 33,
                                    "' OR 1=1 --", "a" * 5000])
def test_garbage_cookies_get_401(db: None, cookie: str, django_settings: Any) -> None:
    visitor = Visitor()
    visitor.client.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
    assert forward(visitor).status_code == 401


def test_unicode_values_arrive_as_encoded_words(personas: Personas) -> None:
    from email.header import decode_header, make_header

    from loginguard.actions.users import user_create

    user = user_create(username="zoë", email="zoe@acme.example", account=personas.account,
                       password=PASSWORD)
    visitor = Visitor()
    visitor.sign_in(user)
    value = forward(visitor).headers["X-Auth-User"]
    assert value.isascii()
    assert str(make_header(decode_header(value))) == "zoë"


@given(name=st.sampled_from(["HTTP_X_ORIGINAL_URL", "HTTP_X_FORWARDED_FOR",
                             "HTTP_X_AUTH_REQUIRE", "HTTP_USER_AGENT", "HTTP_COOKIE",
                             "HTTP_X_FORWARDED_URI", "HTTP_X_FORWARDED_HOST"]),
       # A WSGI server hands headers over as latin-1 text: nothing above U+00FF.
       value=st.text(st.characters(max_codepoint=0xFF),
                     max_size=300))
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@pytest.mark.django_db
def test_garbage_headers_never_500(name: str, value: str) -> None:
    response = Visitor().client.get("/auth/forward", REMOTE_ADDR=PROXY_IP, **{name: value})
    assert response.status_code == 401


def test_a_present_but_empty_require_header_is_refused(personas: Personas) -> None:
    """Issue 25, finding 3: an empty X-Auth-Require (what the server hands over for a
    value with non-ASCII bytes) read as "no requirement" and let a client user in."""
    visitor = Visitor()
    visitor.sign_in(personas.member)
    for value in ("", "role=client_admin\xc2\xa0", "  "):
        response = forward(visitor, HTTP_X_AUTH_REQUIRE=value)
        assert response.status_code == 403, value
        assert "X-Auth-User" not in response.headers
    assert forward(visitor).status_code == 200  # absent: any signed-in user


def test_flash_messages_never_get_a_cookie_of_their_own(personas: Personas,
                                                        settings: Any) -> None:
    """Issue 25, finding 10: the messages cookie took SESSION_COOKIE_DOMAIN and reached
    every guarded app with device names in it."""
    settings.SESSION_COOKIE_DOMAIN = "lg.test"
    visitor = Visitor()
    response = visitor.sign_in(personas.member, trust="yes", name="Bob's work laptop")
    assert response.status_code == 302
    assert "messages" not in response.cookies
    page = visitor.get(response.headers["Location"])
    assert "Bob’s work laptop" in page.content.decode() or \
        "Bob&#x27;s work laptop" in page.content.decode()
    assert all("messages" not in r.cookies for r in (page,))
