"""Review findings 3, 8, 9 and 12 on the sign-in side (docs/security.md "Review findings"):
the reset request's timing, the pending sign-in bound to its start, secrets kept out of the
access log and the URL, and X-Forwarded-Proto only from trusted proxies."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loginguard.emails.models import OutgoingEmail
from loginguard.lib import clock
from tests.conftest import (
    CHROME_LINUX,
    FIREFOX_WINDOWS,
    PASSWORD,
    Personas,
    Visitor,
    deliver,
    emails_to,
    last_code,
)

NEW = "a-brand-new-passphrase-77"


# --- 3: the reset request does the same work whether or not the address exists --------

def reset_queries(address: str, ip: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = Visitor(ip=ip).post("/password/reset/", {"email": address})
    assert response.status_code == 302 and response["Location"] == "/password/reset/?sent=1"
    # Only the shape of each statement: the address, IP, times and savepoint names differ,
    # not the work.
    return [re.sub(r'"s\d+_x\d+"|\'[^\']*\'|\b\d+\b', "?", q["sql"])
            for q in queries.captured_queries]


def test_a_reset_request_runs_the_same_statements_for_known_and_unknown(
        personas: Personas) -> None:
    known = reset_queries("bob@acme.example", "203.0.113.30")
    unknown = reset_queries("nobody@acme.example", "203.0.113.31")
    assert known == unknown
    assert not any("users_user" in q for q in known)  # nobody is looked up in the request
    assert not OutgoingEmail.objects.exists()  # the worker renders the email
    deliver()
    assert [m.to for m in deliver()] == [["bob@acme.example"]]


# --- 8: the pending sign-in is bound to where it started --------------------------------

@pytest.mark.parametrize("change", ["ip", "browser", "os"])
def test_the_code_step_must_come_from_the_password_steps_device(personas: Personas,
                                                                 change: str) -> None:
    visitor = Visitor()
    visitor.password("bob")
    code = last_code("bob@acme.example")
    if change == "ip":
        visitor.ip = "192.0.2.200"
    else:
        visitor.client.defaults["HTTP_USER_AGENT"] = (FIREFOX_WINDOWS if change == "browser"
                                                      else CHROME_LINUX)
    assert visitor.code(code).headers["Location"] == "/login/"
    assert visitor.signed_in_as() is None


def test_the_pending_sign_in_follows_the_accounts_ip_policy(personas: Personas) -> None:
    personas.account.ip_match = "network"
    personas.account.save()
    visitor = Visitor(ip="198.51.100.23")
    visitor.password("bob")
    visitor.ip = "198.51.100.99"  # same /24: the same place under "network"
    assert visitor.code(last_code("bob@acme.example")).headers["Location"] == "/login/trust/"


def test_a_password_change_ends_a_pending_sign_in(personas: Personas) -> None:
    attacker = Visitor(ip="192.0.2.66")
    attacker.password("bob")  # knows the old password, waits for the code
    owner = Visitor()
    owner.sign_in(personas.member)
    owner.post("/security/unlock/", {"password": PASSWORD})
    owner.post("/security/password/", {"current_password": PASSWORD, "new_password1": NEW,
                                       "new_password2": NEW})
    codes_before = len([m for m in emails_to("bob@acme.example")
                        if "verification code" in m.subject])
    clock.advance(timedelta(seconds=61))  # past the resend cooldown
    assert attacker.post("/login/verify/resend/").headers["Location"] == "/login/"
    assert len([m for m in emails_to("bob@acme.example")
                if "verification code" in m.subject]) == codes_before


# --- 9: secrets out of the access log and the URL ------------------------------------

def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "loginguard.access"]


def test_the_access_log_never_holds_a_link_token(personas: Personas,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    Visitor().post("/password/reset/", {"email": "bob@acme.example"})
    [mail] = [m for m in deliver() if "Reset" in m.subject]
    link = re.search(r"/password/reset/[^\s]+/", str(mail.body)).group(0)  # type: ignore[union-attr]
    token = link.rstrip("/").split("/")[-1]
    browser = Visitor()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="loginguard.access"):
        form = browser.get(link).headers["Location"]
        browser.post(form, {"new_password1": NEW, "new_password2": NEW})
    lines = access_lines(caplog)
    assert len(lines) == 2 and not any(token in line for line in lines)
    assert "[redacted]" in lines[0] and "set-password" in lines[1]


def test_access_log_lines_cannot_be_forged_with_cr_lf(caplog: pytest.LogCaptureFixture,
                                                      db: None) -> None:
    with caplog.at_level(logging.INFO, logger="loginguard.access"):
        Visitor().get("/about/%0D%0A127.0.0.1%20%22GET%20/admin/%22%20200?code=123456&x=%0A")
    [line] = access_lines(caplog)
    assert "\r" not in line and "\n" not in line
    assert "%0D%0A" in line and "code=[redacted]" in line and "123456" not in line


def test_sent_emails_keep_no_body(personas: Personas) -> None:
    Visitor().password("bob")
    code = last_code("bob@acme.example")
    row = OutgoingEmail.objects.get(kind="verification_code")
    assert row.status == "sent" and row.body_text == "" and row.body_html == ""
    assert code not in repr(list(OutgoingEmail.objects.values()))


# --- 12: X-Forwarded-Proto only from trusted proxies ------------------------------------

def test_forwarded_proto_from_an_untrusted_peer_is_ignored(settings: Any, db: None) -> None:
    import ipaddress

    from django.test import Client

    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    # From the proxy, "https" is believed: no redirect to https.
    assert Client(REMOTE_ADDR="10.1.2.3").get("/login/",
                                              HTTP_X_FORWARDED_PROTO="https").status_code == 200
    # From anybody else it is dropped: the request is plain http and gets redirected.
    response = Client(REMOTE_ADDR="192.0.2.1").get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301 and response.headers["Location"].startswith("https://")


def test_password_change_can_revoke_api_tokens(personas: Personas) -> None:
    from loginguard.apitokens.models import ApiToken
    from loginguard.apitokens.services import api_token_create

    for n in range(2):
        api_token_create(user=personas.member, name=f"t{n}", days=7)
    owner = Visitor()
    owner.sign_in(personas.member)
    owner.post("/security/unlock/", {"password": PASSWORD})
    assert b"Also revoke all my API tokens" in owner.get(f"/users/{personas.member.pk}/").content
    owner.post("/security/password/", {"current_password": PASSWORD, "new_password1": NEW,
                                       "new_password2": NEW})
    assert ApiToken.objects.filter(revoked_at=None).count() == 2  # not asked: kept
    owner.post("/security/password/", {"current_password": NEW, "new_password1": PASSWORD + "x",
                                       "new_password2": PASSWORD + "x", "revoke_tokens": "on"})
    assert ApiToken.objects.filter(revoked_at=None).count() == 0
