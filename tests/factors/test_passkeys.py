"""Passkeys and security keys (SPEC §14), against the real ``webauthn`` checks with a
software authenticator: added in the unlocked section, the second step, a whole sign-in
without a password, unlocking the section; challenges single-use, bound to the session and
5 minutes; the origin and RP ID checked; sign counters that go back refused and audited."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.factors.models import Passkey
from loginguard.lib import clock
from loginguard.signin.models import UserSession
from loginguard.signin.sessions import PROOFS_KEY
from loginguard.users.models import User
from tests.conftest import PASSWORD, Personas, Visitor, emails_to
from tests.factors.conftest import (
    passkey_answer,
    post_json,
    register_passkey,
    signed_in_unlocked,
)
from tests.factors.soft import SoftAuthenticator

pytestmark = pytest.mark.django_db

SECOND = ("/login/verify/passkey/options/", "/login/verify/passkey/")
PASSWORDLESS = ("/login/passkey/options/", "/login/passkey/")
UNLOCK = ("/security/unlock/passkey/options/", "/security/unlock/passkey/")


def bob_with_passkey(personas: Personas, synced: bool = False) -> SoftAuthenticator:
    visitor = signed_in_unlocked(personas.member)
    return register_passkey(visitor, synced=synced)


def test_adding_a_passkey_keeps_its_public_key_flags_and_tells_the_user(
        personas: Personas) -> None:
    bob = personas.member
    visitor = signed_in_unlocked(bob)
    key = register_passkey(visitor, name="YubiKey 5")
    [stored] = Passkey.objects.filter(user=bob)
    assert stored.name == "YubiKey 5" and bytes(stored.credential_id) == key.credential_id
    assert not stored.backup_eligible and stored.transports == ["internal", "hybrid"]
    page = visitor.get(f"/users/{bob.pk}/").content.decode()
    assert "YubiKey 5" in page and "This device only" in page
    assert AuditEvent.objects.filter(event_type=EventType.FACTOR_ADDED,
                                     subject=bob).get().extra["factor"] == "passkey"
    assert any("passkey" in m.body and "added" in m.subject.lower()
               for m in emails_to(bob.email))
    synced = register_passkey(visitor, name="Phone", synced=True)
    assert Passkey.objects.get(credential_id=synced.credential_id).backup_eligible
    assert "Synced" in visitor.get(f"/users/{bob.pk}/").content.decode()


def test_adding_a_passkey_needs_the_unlocked_section(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    assert post_json(visitor, "/security/factors/passkeys/options/").status_code == 403
    assert post_json(visitor, "/security/factors/passkeys/add/", {}).status_code == 403


def test_a_registration_from_another_origin_is_refused(personas: Personas) -> None:
    visitor = signed_in_unlocked(personas.member)
    key = SoftAuthenticator(origin="https://evil.example")
    options = post_json(visitor, "/security/factors/passkeys/options/").json()
    answer = post_json(visitor, "/security/factors/passkeys/add/",
                       {"credential": key.create(options["publicKey"]), "name": "Evil"})
    assert answer.status_code == 400 and not answer.json()["ok"]
    assert not Passkey.objects.exists()


def test_a_registration_without_user_verification_is_refused(personas: Personas) -> None:
    visitor = signed_in_unlocked(personas.member)
    key = SoftAuthenticator(origin=settings.BASE_URL, user_verified=False)
    options = post_json(visitor, "/security/factors/passkeys/options/").json()
    assert options["publicKey"]["authenticatorSelection"]["userVerification"] == "required"
    assert options["publicKey"]["authenticatorSelection"]["residentKey"] == "required"
    assert options["publicKey"]["attestation"] == "none"
    answer = post_json(visitor, "/security/factors/passkeys/add/",
                       {"credential": key.create(options["publicKey"]), "name": "No UV"})
    assert answer.status_code == 400 and not Passkey.objects.exists()


def test_the_second_step_asks_for_the_passkey(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    visitor = Visitor()
    visitor.password("bob")
    page = visitor.get("/login/verify/").content
    assert b"Use your passkey" in page and b"Email me a code instead" in page
    answer = passkey_answer(visitor, key, *SECOND)
    assert answer.json() == {"ok": True, "redirect": "/login/trust/"}
    visitor.trust("no")
    assert visitor.signed_in_as() == "bob"
    assert visitor.client.session[PROOFS_KEY] == ["password", "passkey"]
    # The untrusted-device alert goes out as after any other second step.
    assert any("untrusted device" in m.subject for m in emails_to("bob@acme.example"))


def test_sign_in_with_a_passkey_is_the_whole_sign_in(personas: Personas,
                                                      hashed_lengths: list[int]) -> None:
    key = bob_with_passkey(personas, synced=True)
    before = len(hashed_lengths)
    visitor = Visitor()
    visitor.get("/login/")
    answer = passkey_answer(visitor, key, *PASSWORDLESS)
    assert answer.json() == {"ok": True, "redirect": "/"}
    assert visitor.signed_in_as() == "bob"
    assert visitor.client.session[PROOFS_KEY] == ["synced_passkey"]
    assert len(hashed_lengths) == before  # no password, no Argon2
    assert UserSession.objects.filter(user=personas.member).count() == 2
    event = AuditEvent.objects.filter(event_type=EventType.LOGIN_SUCCEEDED).latest("id")
    assert event.extra["factor"] == "passkey"


def test_a_passwordless_sign_in_returns_to_next(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    visitor = Visitor()
    options = visitor.post("/login/passkey/options/?next=/users/", "{}",
                           content_type="application/json")
    answer = post_json(visitor, PASSWORDLESS[1],
                       {"credential": key.get(options.json()["publicKey"])})
    assert answer.json()["redirect"] == "/users/"


def test_the_challenge_is_single_use(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    visitor = Visitor()
    options = post_json(visitor, PASSWORDLESS[0]).json()["publicKey"]
    credential = key.get(options)
    assert post_json(visitor, PASSWORDLESS[1], {"credential": credential}).json()["ok"]
    visitor.post("/logout/")
    again = post_json(visitor, PASSWORDLESS[1], {"credential": key.get(options)})
    assert again.status_code == 400 and visitor.signed_in_as() is None


def test_the_challenge_is_bound_to_the_session(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    one, other = Visitor(), Visitor()
    options = post_json(one, PASSWORDLESS[0]).json()["publicKey"]
    post_json(other, PASSWORDLESS[0])  # the other browser has a challenge of its own
    stolen = post_json(other, PASSWORDLESS[1], {"credential": key.get(options)})
    assert stolen.status_code == 400 and other.signed_in_as() is None


def test_the_challenge_expires_after_5_minutes(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    visitor = Visitor()
    options = post_json(visitor, PASSWORDLESS[0]).json()["publicKey"]
    assert options["timeout"] == 300000
    clock.advance(timedelta(minutes=5, seconds=1))
    late = post_json(visitor, PASSWORDLESS[1], {"credential": key.get(options)})
    assert late.status_code == 400 and "expired" in late.json()["error"]


def test_a_challenge_for_one_purpose_does_not_answer_another(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    visitor = Visitor()
    visitor.password("bob")
    options = post_json(visitor, SECOND[0]).json()["publicKey"]
    wrong = post_json(visitor, PASSWORDLESS[1], {"credential": key.get(options)})
    assert wrong.status_code == 400 and visitor.signed_in_as() is None


def test_another_origin_or_rp_id_is_refused(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    for kwargs in ({"origin": "https://phish.example"}, {"rp_id": "phish.example"},
                   {"origin": "http://localhost:8001"}):
        visitor = Visitor()
        answer = passkey_answer(visitor, key, *PASSWORDLESS, **kwargs)
        assert answer.status_code == 400 and visitor.signed_in_as() is None, kwargs


def test_another_users_passkey_is_refused_at_the_second_step(personas: Personas) -> None:
    bob_with_passkey(personas)
    alices = register_passkey(signed_in_unlocked(personas.admin))
    visitor = Visitor()
    visitor.password("bob")
    answer = passkey_answer(visitor, alices, *SECOND)
    assert answer.status_code == 400 and "not one of this account" in answer.json()["error"]
    assert visitor.signed_in_as() is None


def test_an_unknown_passkey_is_refused(personas: Personas) -> None:
    bob_with_passkey(personas)
    stranger = SoftAuthenticator(origin=settings.BASE_URL, rp_id="localhost",
                                 user_handle=b"x" * 32)
    visitor = Visitor()
    assert passkey_answer(visitor, stranger, *PASSWORDLESS).status_code == 400


def test_a_sign_count_that_goes_back_is_refused_and_audited(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    assert passkey_answer(Visitor(), key, *PASSWORDLESS, count=5).json()["ok"]
    visitor = Visitor()
    answer = passkey_answer(visitor, key, *PASSWORDLESS, count=3)
    assert answer.status_code == 400 and "copied" in answer.json()["error"]
    assert visitor.signed_in_as() is None
    event = AuditEvent.objects.get(event_type=EventType.PASSKEY_COUNTER_REGRESSED)
    assert event.extra["stored"] == 5 and event.extra["received"] == 3
    assert Passkey.objects.get().sign_count == 5


def test_a_synced_passkey_reporting_zero_is_accepted_every_time(personas: Personas) -> None:
    key = bob_with_passkey(personas, synced=True)
    for _ in range(3):
        assert passkey_answer(Visitor(), key, *PASSWORDLESS, count=0).json()["ok"]
    assert not AuditEvent.objects.filter(
        event_type=EventType.PASSKEY_COUNTER_REGRESSED).exists()


def test_an_inactive_user_cannot_sign_in_with_a_passkey(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    User.objects.filter(pk=personas.member.pk).update(is_active=False)
    visitor = Visitor()
    assert passkey_answer(visitor, key, *PASSWORDLESS).status_code == 400
    assert visitor.signed_in_as() is None


def test_unlocking_the_section_with_a_passkey(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    visitor = Visitor()
    passkey_answer(visitor, key, *PASSWORDLESS)
    locked = visitor.get(f"/users/{personas.member.pk}/").content
    assert b"Unlock with your passkey" in locked
    answer = passkey_answer(visitor, key, *UNLOCK)
    assert answer.json() == {"ok": True, "redirect": f"/users/{personas.member.pk}/#security"}
    assert b"Lock now" in visitor.get(f"/users/{personas.member.pk}/").content
    unlocked = AuditEvent.objects.filter(event_type=EventType.SECURITY_UNLOCKED).latest("id")
    assert unlocked.extra == {"with": "passkey"}


def test_the_password_alone_no_longer_unlocks_the_section(personas: Personas) -> None:
    key = bob_with_passkey(personas)
    visitor = Visitor()
    passkey_answer(visitor, key, *PASSWORDLESS)
    response = visitor.post("/security/unlock/", {"password": PASSWORD}, follow=True)
    assert b"does not unlock" in response.content
    assert b"Lock now" not in visitor.get(f"/users/{personas.member.pk}/").content


def test_renaming_and_removing_a_passkey(personas: Personas) -> None:
    bob = personas.member
    visitor = signed_in_unlocked(bob)
    register_passkey(visitor)
    key = Passkey.objects.get()
    for bad in ["", "x" * 65, "\x00"]:
        visitor.post(f"/security/factors/passkeys/{key.pk}/rename/", {"name": bad})
        assert Passkey.objects.get().name == "Laptop passkey"
    visitor.post(f"/security/factors/passkeys/{key.pk}/rename/", {"name": "Work laptop"})
    assert Passkey.objects.get().name == "Work laptop"
    assert visitor.post(f"/security/factors/passkeys/{key.pk}/remove/").status_code == 302
    assert not Passkey.objects.exists()
    removed = AuditEvent.objects.get(event_type=EventType.FACTOR_REMOVED)
    assert removed.extra == {"factor": "passkey", "name": "Work laptop"}


def test_nobody_renames_or_removes_another_users_passkey(personas: Personas) -> None:
    register_passkey(signed_in_unlocked(personas.stranger))
    key = Passkey.objects.get()
    visitor = signed_in_unlocked(personas.admin)
    assert visitor.post(f"/security/factors/passkeys/{key.pk}/rename/",
                        {"name": "Mine"}).status_code == 404
    assert visitor.post(f"/security/factors/passkeys/{key.pk}/remove/").status_code == 404
    assert Passkey.objects.get().name == "Laptop passkey"


def test_with_an_ip_base_url_passkeys_are_hidden_and_refused(personas: Personas,
                                                              settings: Any) -> None:
    settings.BASE_URL = "http://127.0.0.1:8000"
    visitor = Visitor()
    assert b"Sign in with a passkey" not in visitor.get("/login/").content
    assert post_json(visitor, PASSWORDLESS[0]).status_code == 404
    unlocked = signed_in_unlocked(personas.member)
    assert post_json(unlocked, "/security/factors/passkeys/options/").status_code == 400
    assert b"Add a passkey" not in unlocked.get(f"/users/{personas.member.pk}/").content


def test_webauthn_rp_id_may_name_a_parent_domain(personas: Personas, settings: Any) -> None:
    settings.BASE_URL, settings.WEBAUTHN_RP_ID = "https://login.example.com", "example.com"
    visitor = signed_in_unlocked(personas.member, secure=True)
    options = post_json(visitor, "/security/factors/passkeys/options/").json()
    assert options["publicKey"]["rp"]["id"] == "example.com"


JSON_ROUTES = [SECOND[1], PASSWORDLESS[1], UNLOCK[1], "/security/factors/passkeys/add/"]
junk = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40)),
                    lambda inner: st.one_of(st.lists(inner, max_size=4),
                                            st.dictionaries(st.text(max_size=12), inner,
                                                            max_size=4)), max_leaves=12)
credential_like = st.fixed_dictionaries(
    {"id": st.text(max_size=30), "rawId": st.text(max_size=30), "type": st.text(max_size=12),
     "response": st.dictionaries(st.sampled_from(
         ["clientDataJSON", "authenticatorData", "signature", "userHandle",
          "attestationObject"]), st.one_of(st.text(max_size=60), junk), max_size=5)})
bodies = st.one_of(junk, st.fixed_dictionaries({"credential": st.one_of(credential_like,
                                                                        junk)}),
                   st.fixed_dictionaries({"credential": credential_like, "name": junk}))


@pytest.mark.parametrize("route", JSON_ROUTES)
def test_no_passkey_answer_is_a_server_error(personas: Personas, route: str) -> None:
    bob_with_passkey(personas)
    visitor = signed_in_unlocked(personas.admin)
    half_way = Visitor()
    half_way.password("bob")
    count = Passkey.objects.count()

    @hsettings(max_examples=25, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies, raw=st.booleans())
    def check(body: Any, raw: bool) -> None:
        for browser in (visitor, half_way, Visitor()):
            options = route.replace("/passkey/", "/passkey/options/").replace(
                "/add/", "/options/")
            if options != route:
                post_json(browser, options)
            response = browser.post(route, str(body) if raw else body,
                                    content_type="application/json") \
                if raw else post_json(browser, route, body)
            assert response.status_code in (200, 302, 400, 403, 404), response.status_code
            if response["Content-Type"] == "application/json":  # never a yes
                assert response.json()["ok"] is False, response.json()
    check()
    assert Passkey.objects.count() == count
    assert half_way.signed_in_as() is None


def test_one_answer_sent_twice_at_once_signs_in_once(personas: Personas) -> None:
    """Two requests that read the session before either saved it (a double submit) hold
    the same challenge: the first answer's mark in the database refuses the second."""
    from importlib import import_module

    from loginguard.devices.request_info import NO_REQUEST
    from loginguard.factors import passkeys

    key = bob_with_passkey(personas)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    session = store()
    options = passkeys.authentication_options(session=session, purpose=passkeys.SIGN_IN)
    session.save()
    first, second = store(session.session_key), store(session.session_key)
    credential = json.dumps(key.get(options))
    assert passkeys.passkey_verify(session=first, purpose=passkeys.SIGN_IN,
                                   credential=credential, info=NO_REQUEST)
    with pytest.raises(passkeys.Refused, match="answered already"):
        passkeys.passkey_verify(session=second, purpose=passkeys.SIGN_IN,
                                credential=credential, info=NO_REQUEST)


def test_check_warns_when_base_url_is_an_ip_address(settings: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    settings.BASE_URL = "http://127.0.0.1:8000"
    err = StringIO()
    call_command("check", stdout=StringIO(), stderr=err)
    assert "loginguard.W201" in err.getvalue() and "passkeys are unavailable" in err.getvalue()
    settings.BASE_URL = "https://login.example.com"
    err = StringIO()
    call_command("check", stdout=StringIO(), stderr=err)
    assert "W201" not in err.getvalue()


def test_a_challenge_for_one_purpose_of_a_user_does_not_answer_another(
        personas: Personas) -> None:
    """The same user's unlock challenge cannot answer their reset link's passkey step (or
    any other ceremony): the purpose is part of what the challenge is bound to."""
    from importlib import import_module

    from loginguard.devices.request_info import NO_REQUEST
    from loginguard.factors import passkeys

    key = bob_with_passkey(personas)
    bob = personas.member
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    options = passkeys.authentication_options(session=session, purpose=passkeys.UNLOCK,
                                              user=bob)
    with pytest.raises(passkeys.Refused):
        passkeys.passkey_verify(session=session, purpose=passkeys.RECOVER, user=bob,
                                credential=json.dumps(key.get(options)), info=NO_REQUEST)
