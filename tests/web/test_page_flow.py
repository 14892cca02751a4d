"""Pages a customer would not stumble on (issue 16): confirmations before destroying,
post/redirect/get, counts that add up, messages that agree, HEAD, the CSRF page, the
email details, the gateway's account actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from loginguard.apitokens.models import ApiToken
from loginguard.devices.models import TrustedDevice
from loginguard.lib import clock
from loginguard.signin.models import UserSession
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User
from tests.conftest import PASSWORD, Personas, Visitor, deliver, emails_to

pytestmark = pytest.mark.django_db


def unlocked(user: User, **kwargs: Any) -> Visitor:
    visitor = Visitor(**kwargs)
    assert visitor.sign_in(user, trust="yes").headers["Location"] == "/"
    assert visitor.post("/security/unlock/", {"password": PASSWORD}).status_code == 302
    return visitor


def test_destroying_asks_first_and_a_get_changes_nothing(personas: Personas) -> None:
    bob = unlocked(personas.member)
    device = TrustedDevice.objects.get()
    page = bob.get(f"/security/devices/{device.pk}/remove/")
    assert page.status_code == 200 and b"Remove trusted device" in page.content
    assert f'action="/security/devices/{device.pk}/remove/"'.encode() in page.content
    assert TrustedDevice.objects.count() == 1
    assert bob.post(f"/security/devices/{device.pk}/remove/").status_code == 302
    assert not TrustedDevice.objects.exists()
    # Another user's device: 404 for the question too, like for the action.
    alice = unlocked(personas.admin, ip="203.0.113.50")
    bobs = TrustedDevice.objects.create(user=personas.member, name="x", secret_hash="0" * 64,
                                        ip="1.2.3.4", browser="Chrome", os="Linux",
                                        created_at=clock.now(), last_used_at=clock.now(),
                                        last_code_at=clock.now())
    assert alice.get(f"/security/devices/{bobs.pk}/remove/").status_code == 404


def test_signing_out_others_reports_the_right_count(personas: Personas) -> None:
    others = [Visitor(ip=f"203.0.113.{n}") for n in (1, 2)]
    for other in others:
        other.sign_in(personas.member)
    bob = unlocked(personas.member)
    question = bob.get("/security/sessions/end-others/")
    assert b"Sign out your 2 other sessions?" in question.content
    page = bob.post("/security/sessions/end-others/", follow=True)
    assert b"Signed out 2 other sessions." in page.content
    assert UserSession.objects.filter(user=personas.member).count() == 1
    assert all(other.signed_in_as() is None for other in others)


def test_a_token_is_shown_on_the_page_after_the_redirect_once(personas: Personas) -> None:
    bob = unlocked(personas.member)
    response = bob.post("/security/tokens/create/", {"name": "ci", "expires_in_days": "30"})
    assert response.status_code == 302 and response["Location"].endswith("#new-token")
    shown = bob.get(response["Location"]).content.decode()
    assert 'data-testid="new-token"' in shown and "Copy your new token “ci” now" in shown
    again = bob.get(response["Location"]).content.decode()
    assert 'data-testid="new-token"' not in again  # a reload shows it no more
    assert ApiToken.objects.count() == 1  # and repeats nothing


def test_deactivate_and_reactivate_buttons(personas: Personas) -> None:
    alice = Visitor()
    alice.sign_in(personas.admin)
    bob = Visitor(ip="203.0.113.9")
    bob.sign_in(personas.member)
    tab = alice.get(f"/users/{personas.member.pk}/permissions/").content
    assert f'href="/users/{personas.member.pk}/deactivate/"'.encode() in tab
    question = alice.get(f"/users/{personas.member.pk}/deactivate/")
    assert b"Deactivate bob" in question.content
    assert User.objects.get(username="bob").is_active  # asking changed nothing
    assert alice.post(f"/users/{personas.member.pk}/deactivate/").status_code == 302
    assert not User.objects.get(username="bob").is_active and bob.signed_in_as() is None
    assert alice.post(f"/users/{personas.member.pk}/reactivate/").status_code == 302
    assert User.objects.get(username="bob").is_active
    # Nobody deactivates themselves, and a client user nobody else.
    assert alice.get(f"/users/{personas.admin.pk}/deactivate/").status_code == 403
    bob = Visitor(ip="203.0.113.9")
    bob.sign_in(personas.member)  # active again
    assert bob.post(f"/users/{personas.admin.pk}/deactivate/").status_code in (403, 404)
    assert User.objects.get(username="alice").is_active


def test_the_gateway_renames_suspends_and_resumes_a_client_account(personas: Personas) -> None:
    rita = Visitor()
    rita.sign_in(personas.reseller_user)
    bob = Visitor(ip="203.0.113.9")
    bob.sign_in(personas.member)
    base = f"/gateway/accounts/{personas.account.pk}"
    assert rita.post(f"{base}/rename/", {"name": "Acme Widgets"}).status_code == 302
    assert ClientAccount.objects.get(pk=personas.account.pk).name == "Acme Widgets"
    taken = rita.post(f"{base}/rename/", {"name": "Globex"}, follow=True)
    assert b"already exists" in taken.content
    assert b"Suspend Acme Widgets?" in rita.get(f"{base}/suspend/").content
    assert ClientAccount.objects.get(pk=personas.account.pk).is_active
    assert rita.post(f"{base}/suspend/").status_code == 302
    assert not ClientAccount.objects.get(pk=personas.account.pk).is_active
    assert bob.signed_in_as() is None
    assert rita.post(f"{base}/resume/").status_code == 302
    assert ClientAccount.objects.get(pk=personas.account.pk).is_active
    # Another reseller's account, or a client user: 404, nothing changes.
    other = f"/gateway/accounts/{personas.other_account.pk}"
    assert rita.post(f"{other}/suspend/").status_code == 404
    sue = Visitor(ip="203.0.113.10")
    sue.sign_in(personas.other_reseller_user)
    assert sue.post(f"{base}/rename/", {"name": "Mine"}).status_code == 404
    assert ClientAccount.objects.get(pk=personas.account.pk).name == "Acme Widgets"


@pytest.mark.parametrize("path", ["/login/", "/about/", "/password/reset/"])
def test_head_works_wherever_get_does(db: None, path: str) -> None:
    assert Client().head(path).status_code == 200


def test_the_csrf_failure_page_says_what_to_do(db: None) -> None:
    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "x",
                                                                 "password": "y"})
    assert response.status_code == 403
    assert b"Please try that again" in response.content and b"Nothing was changed" in \
        response.content
    api = Client(enforce_csrf_checks=True).post("/api/v1/users", {})
    assert api.status_code in (401, 403)


def test_the_code_page_never_claims_a_code_was_sent_when_none_was(personas: Personas) -> None:
    visitor = Visitor()
    for _ in range(5):  # the hour's five codes
        visitor.password("bob")
        clock.advance(timedelta(seconds=61))
    response = visitor.password("bob")
    page = visitor.get(response["Location"]).content.decode()
    assert "Wait" in page and "We sent a 6-digit" not in page
    assert "No code was sent to" in page and "for this sign-in" in page
    assert 'class="resend"' not in page  # nothing to send again


def test_the_code_page_says_why_a_trusted_device_is_asked(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member, trust="yes")
    visitor.post("/logout/")
    clock.advance(timedelta(days=31))
    response = visitor.password("bob")
    assert response["Location"] == "/login/verify/"
    assert b"a trusted device asks for a second factor once every 30 days" in \
        visitor.get("/login/verify/").content
    fresh = Visitor(ip="203.0.113.77")
    fresh.password("bob")
    assert b"30 days" not in fresh.get("/login/verify/").content


def test_emails_show_the_time_once_in_utc_and_name_the_site(personas: Personas,
                                                            settings: Any) -> None:
    settings.BASE_URL = "https://login.example.net"
    Visitor().password("bob")  # bob's zone is UTC
    [code] = [m for m in emails_to("bob@acme.example") if "verification code" in m.subject]
    [line] = [x for x in str(code.body).splitlines() if x.startswith("Time:")]
    assert line.count("UTC") == 1 and "(" not in line
    assert code.extra_headers["Message-ID"].endswith("@login.example.net>")
    User.objects.filter(pk=personas.admin.pk).update(time_zone="Europe/Berlin")
    mail.outbox.clear()
    Visitor().password("alice")
    [berlin] = [m for m in deliver() if "verification code" in m.subject]
    [line] = [x for x in str(berlin.body).splitlines() if x.startswith("Time:")]
    assert "UTC (" in line and "Europe/Berlin" in line


def test_the_demo_mailbox_frames_the_html_part_in_a_sandbox(settings: Any, tmp_path: Any,
                                                            personas: Personas) -> None:
    import mailbox as maildir
    from email.message import EmailMessage

    settings.DEV_MAILBOX_DIR = str(tmp_path / "mbox")
    box = maildir.Maildir(settings.DEV_MAILBOX_DIR, create=True)
    message = EmailMessage()
    message["Subject"], message["To"] = "Hello", "a@b.example"
    message.set_content("plain")
    message.add_alternative("<p style='color:red'>html</p><script>alert(1)</script>",
                            subtype="html")
    key = box.add(message)
    page = Client().get(f"/dev/mailbox/{key}/")
    # Scripts stay off in the frame (no allow-scripts); same origin lets the page size it.
    assert b'sandbox="allow-same-origin"' in page.content and \
        f"/dev/mailbox/{key}/html/".encode() in page.content
    html = Client().get(f"/dev/mailbox/{key}/html/")
    assert html.status_code == 200 and b"<p style" in html.content
    assert "default-src 'none'" in html["Content-Security-Policy"]
    assert "script-src" not in html["Content-Security-Policy"]
    assert "sandbox allow-same-origin" in html["Content-Security-Policy"]
    assert html["X-Frame-Options"] == "SAMEORIGIN"


def test_head_works_on_signed_in_pages_too(personas: Personas) -> None:
    alice = Visitor()
    alice.sign_in(personas.admin)
    rita = Visitor(ip="203.0.113.12")
    rita.sign_in(personas.reseller_user)
    account = personas.account.pk
    for visitor, path in [
            (alice, "/"), (alice, f"/users/{personas.member.pk}/"),
            (alice, f"/users/{personas.member.pk}/permissions/"),
            (alice, f"/users/{personas.member.pk}/notifications/"),
            (alice, f"/accounts/{account}/"), (alice, f"/accounts/{account}/log/"),
            (rita, "/gateway/"), (rita, f"/gateway/accounts/{account}/")]:
        get, head = visitor.client.get(path), visitor.client.head(path)
        assert get.status_code == head.status_code == 200, path
