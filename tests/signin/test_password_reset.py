"""SPEC §2.7 forgot password."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings

from loginguard.apitokens.services import api_token_create
from loginguard.codes.models import OneTimeCode
from loginguard.devices.models import TrustedDevice
from loginguard.lib import clock
from loginguard.signin.models import UserSession
from loginguard.users.models import User
from tests.conftest import PASSWORD, Personas, Visitor, deliver, emails_to, last_code

NEW = "a-brand-new-passphrase-77"


def reset_link(address: str) -> str:
    [message] = [m for m in emails_to(address) if "Reset" in m.subject]
    match = re.search(r"http://[^\s]+/password/reset/[^\s]+/", str(message.body))
    assert match, message.body
    return match.group(0).replace(settings.BASE_URL, "")


def open_link(browser: Visitor, link: str) -> str:
    """Open an emailed link as a browser does: its token moves into the session and the
    page lives at a URL without it (review finding 9). Returns that URL."""
    response = browser.get(link)
    assert response.status_code == 302
    form = response.headers["Location"]
    assert form.endswith("/set-password/") and link.split("/")[-2] not in form
    assert browser.get(form).status_code == 200
    return str(form)


def page(response: object) -> bytes:
    return re.sub(rb'value="[^"]+"', b"", response.content)  # type: ignore[attr-defined]


def test_same_answer_whether_or_not_the_address_exists(personas: Personas) -> None:
    known = Visitor().post("/password/reset/", {"email": "bob@acme.example"}, follow=True)
    unknown = Visitor().post("/password/reset/", {"email": "nobody@acme.example"},
                             follow=True)
    assert known.redirect_chain == unknown.redirect_chain == [("/password/reset/?sent=1", 302)]
    assert known.status_code == unknown.status_code == 200
    assert page(known) == page(unknown) and b"Check your email" in known.content
    assert len(deliver()) == 1


@pytest.mark.parametrize("email", ["", "not-an-email", "a" * 300 + "@x.example", "\x00@x"])
def test_bad_addresses_get_a_clear_error_and_send_nothing(personas: Personas, email: str) -> None:
    response = Visitor().post("/password/reset/", {"email": email})
    assert response.status_code == 200 and b"Type a valid email address" in response.content
    assert deliver() == []


def test_reset_ends_sessions_devices_codes_and_never_signs_in(personas: Personas) -> None:
    bob = personas.member
    laptop = Visitor()
    laptop.sign_in(bob, trust="yes", name="Laptop")
    pending = Visitor(ip="192.0.2.9")
    pending.password("bob")
    Visitor().post("/password/reset/", {"email": bob.email})
    token = api_token_create(user=bob, name="ci", days=7)[0]
    link = reset_link(bob.email)
    browser = Visitor()
    form = open_link(browser, link)
    response = browser.post(form, {"new_password1": NEW, "new_password2": NEW})
    assert response.headers["Location"] == "/login/"
    token.refresh_from_db()
    assert token.revoked_at is not None  # a reset is the "I was compromised" path
    # The sign-in started before the reset is dead: "Resend code" does not revive it.
    assert pending.post("/login/verify/resend/").headers["Location"] == "/login/"
    assert browser.signed_in_as() is None
    assert laptop.signed_in_as() is None
    assert not UserSession.objects.exists() and not TrustedDevice.objects.exists()
    assert not OneTimeCode.objects.filter(used_at=None, revoked=False).exists()
    assert any("password was changed" in m.subject for m in emails_to(bob.email))
    # The trusted laptop now needs the code, with the new password.
    laptop.post("/logout/")
    assert laptop.password("bob", NEW).headers["Location"] == "/login/verify/"
    assert laptop.code(last_code(bob.email)).headers["Location"] == "/login/trust/"


def test_link_works_once(personas: Personas) -> None:
    Visitor().post("/password/reset/", {"email": "bob@acme.example"})
    link = reset_link("bob@acme.example")
    Visitor().post(link, {"new_password1": NEW, "new_password2": NEW})
    again = Visitor().post(link, {"new_password1": NEW + "x", "new_password2": NEW + "x"})
    assert again.status_code == 400 and b"no longer works" in again.content


def test_link_expires_after_an_hour(personas: Personas) -> None:
    Visitor().post("/password/reset/", {"email": "bob@acme.example"})
    link = reset_link("bob@acme.example")
    clock.advance(timedelta(hours=1, seconds=1))
    assert Visitor().get(link).status_code == 400


@pytest.mark.parametrize("link", ["/password/reset/xx/yy/", "/password/reset/MQ/1-abc/",
                                  "/password/reset/" + "A" * 500 + "/" + "b" * 500 + "/"])
def test_forged_links_are_rejected(personas: Personas, link: str) -> None:
    assert Visitor().get(link).status_code == 400


def test_new_password_must_pass_the_policy(personas: Personas) -> None:
    Visitor().post("/password/reset/", {"email": "bob@acme.example"})
    link = reset_link("bob@acme.example")
    response = Visitor().post(link, {"new_password1": "short", "new_password2": "short"})
    assert response.status_code == 200 and b"too short" in response.content
    personas.member.refresh_from_db()
    assert personas.member.check_password("correct-horse-battery-staple-9")


def test_links_come_from_base_url_not_the_host_header(personas: Personas,
                                                      settings: object) -> None:
    Visitor().post("/password/reset/", {"email": "bob@acme.example"},
                   HTTP_HOST="localhost:9999")
    [message] = deliver()
    assert "localhost:9999" not in str(message.body)
    assert f"{settings.BASE_URL}/password/reset/" in str(message.body)


def test_reset_requests_are_rate_limited_per_address(personas: Personas) -> None:
    for _ in range(7):
        Visitor().post("/password/reset/", {"email": "bob@acme.example"})
    assert len(deliver()) == 5


def test_reset_requests_are_rate_limited_per_ip(personas: Personas) -> None:
    # 20 an hour from one IP, whichever addresses it names (mail-bombing many users).
    addresses = [f"nobody{n}@acme.example" for n in range(19)] + ["bob@acme.example"] * 2
    for address in addresses:
        Visitor(ip="203.0.113.9").post("/password/reset/", {"email": address})
    assert [m.to for m in deliver()] == [["bob@acme.example"]]  # the 21st request was refused
    Visitor(ip="203.0.113.10").post("/password/reset/", {"email": "bob@acme.example"})
    assert len(deliver()) == 2  # another IP is not affected


def test_link_dies_when_the_user_is_deactivated_even_if_reactivated(personas: Personas) -> None:
    bob = personas.member
    Visitor().post("/password/reset/", {"email": bob.email})
    link = reset_link(bob.email)
    alice = Visitor(ip="192.0.2.50")
    alice.sign_in(personas.admin)
    alice.post(f"/users/{bob.pk}/permissions/", {})  # deactivate
    alice.post(f"/users/{bob.pk}/permissions/", {"is_active": "on"})  # and reactivate
    assert User.objects.get(pk=bob.pk).is_active
    assert Visitor().get(link).status_code == 400
    response = Visitor().post(link, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 400
    assert User.objects.get(pk=bob.pk).check_password(PASSWORD)


def test_a_reset_queued_under_the_tasks_old_name_is_still_sent(personas: Personas) -> None:
    """A release before issue 26 queued its resets as record.tasks.password_reset_dispatch;
    during an upgrade the new workers run those too (docs/operations.md, Upgrading)."""
    from loginguard.record.tasks import password_reset_dispatch

    password_reset_dispatch.using(queue_name="email").enqueue(
        "bob@acme.example", "198.51.100.23", "Mozilla/5.0")
    assert [m.subject for m in emails_to("bob@acme.example")
            if "reset" in m.subject.lower()]
