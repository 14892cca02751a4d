"""SPEC §4: the Security section's lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings as django_settings

from loginguard.apitokens.models import ApiToken
from loginguard.devices.models import TrustedDevice
from loginguard.lib import clock
from loginguard.security.unlock import SESSION_KEY as UNLOCK_KEY
from loginguard.signin.models import UserSession
from tests.conftest import PASSWORD, Personas, Visitor
from tests.security.conftest import unlock

Signer = Callable[..., Visitor]


def record(visitor: Visitor, user_id: int) -> str:
    return str(visitor.get(f"/users/{user_id}/").content.decode())


def test_own_password_unlocks_for_ten_minutes(personas: Personas, signed_in: Signer) -> None:
    bob = signed_in(personas.member)
    assert 'name="password"' in record(bob, personas.member.pk)
    key_before = bob.client.session.session_key
    assert unlock(bob).status_code == 302
    assert bob.client.session.session_key != key_before  # rotated at unlock
    assert UserSession.objects.filter(session_key=bob.client.session.session_key).exists()
    assert "Trusted devices" in record(bob, personas.member.pk)
    clock.advance(timedelta(minutes=9, seconds=59))
    assert "Trusted devices" in record(bob, personas.member.pk)
    clock.advance(timedelta(seconds=2))
    assert "Trusted devices" not in record(bob, personas.member.pk)


@pytest.mark.parametrize("password", ["wrong-password-12", "", "x" * 2000])
def test_wrong_password_does_not_unlock(personas: Personas, signed_in: Signer,
                                        password: str) -> None:
    bob = signed_in(personas.member)
    response = unlock(bob, password, follow=True)  # back at the record, with the error
    assert response.status_code == 200 and b"That is not your password" in response.content
    assert "Trusted devices" not in record(bob, personas.member.pk)


def test_an_over_long_password_is_refused_without_hashing(personas: Personas,
                                                         signed_in: Signer,
                                                         hashed_lengths: list[int]) -> None:
    bob = signed_in(personas.member)
    hashed_lengths.clear()
    response = unlock(bob, "x" * 1025, follow=True)
    assert response.status_code == 200 and b"That is not your password" in response.content
    assert hashed_lengths == []


def test_another_users_password_does_not_unlock(personas: Personas, signed_in: Signer) -> None:
    personas.admin.set_password("the-admins-own-password-1")
    personas.admin.save()
    bob = signed_in(personas.member)
    assert b"That is not your password" in unlock(bob, "the-admins-own-password-1",
                                                  follow=True).content


def test_wrong_passwords_count_toward_the_password_throttle(personas: Personas,
                                                            signed_in: Signer) -> None:
    bob = signed_in(personas.member)
    for _ in range(5):
        unlock(bob, "wrong-password-12")
    response = unlock(bob, follow=True)  # even the right one, while locked
    assert b"Too many wrong passwords" in response.content
    assert b"Too many failed attempts" in Visitor().password("bob").content


def test_unlock_is_for_this_session_only(personas: Personas, signed_in: Signer) -> None:
    first = signed_in(personas.member)
    second = signed_in(personas.member, ip="198.51.100.24")
    unlock(first)
    assert "Trusted devices" not in record(second, personas.member.pk)
    assert second.post("/security/devices/remove-all/").status_code == 403


def test_nobody_else_gets_an_unlock_field(personas: Personas, signed_in: Signer) -> None:
    for actor in (personas.admin, personas.reseller_user):
        visitor = signed_in(actor)
        html = record(visitor, personas.member.pk)
        assert "Only <strong>bob</strong> can unlock this section" in html
        assert "security/unlock" not in html


def test_an_admin_unlocking_their_own_section_sees_nothing_of_others(
        personas: Personas, signed_in: Signer) -> None:
    signed_in(personas.member, trust="yes")
    alice = signed_in(personas.admin)
    unlock(alice)
    html = record(alice, personas.member.pk)
    assert "Trusted devices" not in html and "My laptop" not in html


ACTIONS = [
    ("/security/devices/remove-all/", {}),
    ("/security/sessions/end-others/", {}),
    ("/security/password/", {"current_password": PASSWORD, "new_password1": "n" * 20,
                             "new_password2": "n" * 20}),
    ("/security/tokens/create/", {"name": "t", "expires_in_days": "30"}),
]


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_every_action_needs_the_unlock(personas: Personas, signed_in: Signer, path: str,
                                       data: dict[str, str]) -> None:
    bob = signed_in(personas.member, trust="yes")
    response = bob.post(path, data)
    assert response.status_code == 403 and b"Unlock the Security section first" in \
        response.content
    assert TrustedDevice.objects.count() == 1 and not ApiToken.objects.exists()
    personas.member.refresh_from_db()
    assert personas.member.check_password(PASSWORD)


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_every_action_needs_csrf(personas: Personas, signed_in: Signer, path: str,
                                 data: dict[str, str]) -> None:
    bob = signed_in(personas.member, trust="yes")
    bob.client.handler.enforce_csrf_checks = True  # from here on, like a real browser
    token = bob.client.cookies[django_settings.CSRF_COOKIE_NAME].value
    assert bob.post("/security/unlock/", {"password": PASSWORD,
                                          "csrfmiddlewaretoken": token}).status_code == 302
    assert bob.post(path, data).status_code == 403  # no token
    assert TrustedDevice.objects.count() == 1 and not ApiToken.objects.exists()


@pytest.mark.parametrize("path", ["/security/unlock/", "/security/lock/",
                                  "/security/devices/remove-all/", "/security/tokens/create/",
                                  "/security/password/", "/security/sessions/end-others/"])
def test_a_get_of_an_action_url_does_nothing_and_is_never_a_bare_405(
        personas: Personas, signed_in: Signer, path: str) -> None:
    bob = signed_in(personas.member, trust="yes")
    assert unlock(bob).status_code == 302
    for method in ("get", "head"):
        response = getattr(bob.client, method)(path)
        assert response.status_code in (200, 302), (method, response.status_code)
        if response.status_code == 200:  # the confirmation page: a form, nothing done yet
            assert b'method="post"' in response.content or method == "head"
    assert TrustedDevice.objects.count() == 1 and bob.signed_in_as() == "bob"


def test_security_pages_are_not_cached_or_framed(personas: Personas, signed_in: Signer) -> None:
    bob = signed_in(personas.member)
    unlock(bob)
    response = bob.get(f"/users/{personas.member.pk}/")
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["X-Frame-Options"] == "DENY"
    # The one response that shows a new token, and every other action's answer, too.
    for path, data in [("/security/tokens/create/", {"name": "ci", "expires_in_days": "7"}),
                       ("/security/devices/remove-all/", {}), ("/security/lock/", {})]:
        response = bob.post(path, data)
        assert "no-store" in response.headers["Cache-Control"], path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_an_unlock_belongs_to_the_user_who_made_it(personas: Personas, signed_in: Signer) -> None:
    bob = signed_in(personas.member)
    unlock(bob)
    session = bob.client.session
    session[UNLOCK_KEY] = {**session[UNLOCK_KEY], "user_id": personas.admin.pk}
    session.save()
    assert "Trusted devices" not in record(bob, personas.member.pk)
    assert bob.post("/security/devices/remove-all/").status_code == 403


def test_anonymous_is_sent_to_log_in(personas: Personas) -> None:
    response = Visitor().post("/security/tokens/create/", {"name": "x"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")
