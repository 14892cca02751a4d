"""The unlocked Security section's actions (SPEC §4)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from loginguard.audit.models import AuditEvent
from loginguard.codes.models import OneTimeCode
from loginguard.devices.models import TrustedDevice
from loginguard.lib import clock
from loginguard.signin.models import UserSession
from tests.conftest import PASSWORD, Personas, Visitor, emails_to
from tests.security.conftest import unlock

Signer = Callable[..., Visitor]
NEW = "a-fresh-long-passphrase-42"


def unlocked(signed_in: Signer, user: object, **kwargs: object) -> Visitor:
    visitor = signed_in(user, **kwargs)
    assert unlock(visitor).status_code == 302
    return visitor


# --- trusted devices -------------------------------------------------------------------

def test_rename_and_remove_a_device(personas: Personas, signed_in: Signer) -> None:
    bob = unlocked(signed_in, personas.member, trust="yes")
    device = TrustedDevice.objects.get()
    bob.post(f"/security/devices/{device.pk}/rename/", {"name": "  Work   PC "})
    assert TrustedDevice.objects.get().name == "Work PC"
    bob.post(f"/security/devices/{device.pk}/remove/")
    assert not TrustedDevice.objects.exists()
    types = set(AuditEvent.objects.values_list("event_type", flat=True))
    assert {"device.renamed", "device.revoked"} <= types


def test_remove_all_devices(personas: Personas, signed_in: Signer) -> None:
    signed_in(personas.member, trust="yes", ip="203.0.113.1")
    bob = unlocked(signed_in, personas.member, trust="yes")
    assert TrustedDevice.objects.count() == 2
    bob.post("/security/devices/remove-all/")
    assert not TrustedDevice.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "tab\tname\x00"])
def test_bad_device_names_change_nothing(personas: Personas, signed_in: Signer,
                                         name: str) -> None:
    bob = unlocked(signed_in, personas.member, trust="yes")
    device = TrustedDevice.objects.get()
    response = bob.post(f"/security/devices/{device.pk}/rename/", {"name": name}, follow=True)
    assert b"Give the device a name" in response.content
    assert TrustedDevice.objects.get().name == "My laptop"


@pytest.mark.parametrize("bad", ["0", "abc", "99999", "-1"])
def test_unknown_device_ids_are_404(personas: Personas, signed_in: Signer, bad: str) -> None:
    bob = unlocked(signed_in, personas.member)
    assert bob.post(f"/security/devices/{bad}/remove/").status_code == 404


def test_another_users_device_is_404_and_untouched(personas: Personas, signed_in: Signer) -> None:
    signed_in(personas.admin, trust="yes")
    alices = TrustedDevice.objects.get(user=personas.admin)
    bob = unlocked(signed_in, personas.member)
    assert bob.post(f"/security/devices/{alices.pk}/remove/").status_code == 404
    assert bob.post(f"/security/devices/{alices.pk}/rename/", {"name": "mine"}).status_code \
        == 404
    assert TrustedDevice.objects.get(pk=alices.pk).name == "My laptop"


# --- sessions --------------------------------------------------------------------------

def test_sign_out_one_session_and_all_others(personas: Personas, signed_in: Signer) -> None:
    phone = signed_in(personas.member, ip="203.0.113.1")
    tablet = signed_in(personas.member, ip="203.0.113.2")
    bob = unlocked(signed_in, personas.member)
    phone_row = UserSession.objects.get(ip="203.0.113.1")
    bob.post(f"/security/sessions/{phone_row.pk}/end/")
    assert phone.signed_in_as() is None and tablet.signed_in_as() == "bob"
    bob.post("/security/sessions/end-others/")
    assert tablet.signed_in_as() is None and bob.signed_in_as() == "bob"
    assert UserSession.objects.filter(user=personas.member).count() == 1


def test_another_users_session_is_404(personas: Personas, signed_in: Signer) -> None:
    alice = signed_in(personas.admin)
    bob = unlocked(signed_in, personas.member)
    alices = UserSession.objects.get(user=personas.admin)
    assert bob.post(f"/security/sessions/{alices.pk}/end/").status_code == 404
    assert alice.signed_in_as() == "alice"


def test_the_session_list_shows_device_ip_and_times(personas: Personas,
                                                    signed_in: Signer) -> None:
    bob = unlocked(signed_in, personas.member)
    html = bob.get(f"/users/{personas.member.pk}/").content.decode()
    assert "Chrome on Windows" in html and "(this session)" in html and "198.51.100.23" in html


# --- password --------------------------------------------------------------------------

def test_password_change_ends_other_sessions_devices_and_codes(personas: Personas,
                                                               signed_in: Signer) -> None:
    other = signed_in(personas.member, ip="203.0.113.1", trust="yes")
    pending = Visitor(ip="203.0.113.9")
    pending.password("bob")
    bob = unlocked(signed_in, personas.member, trust="yes")
    assert TrustedDevice.objects.count() == 2
    response = bob.post("/security/password/", {"current_password": PASSWORD,
                                                "new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302
    assert bob.signed_in_as() == "bob" and other.signed_in_as() is None
    kept = TrustedDevice.objects.get()
    assert kept.ip == "198.51.100.23"  # the device the change was made from
    assert not OneTimeCode.objects.filter(used_at=None, revoked=False).exists()
    assert any("password was changed" in m.subject for m in emails_to("bob@acme.example"))
    personas.member.refresh_from_db()
    assert personas.member.check_password(NEW)


@pytest.mark.parametrize(("current", "new1", "new2", "field"), [
    ("wrong-current-password", NEW, NEW, b"not your password"),
    (PASSWORD, "short", "short", b"too short"),
    (PASSWORD, NEW, NEW + "x", b"not the same"),
    (PASSWORD, "12345678901234", "12345678901234", b"entirely numeric"),
    (PASSWORD, "acme-acme-acme-acme", "acme-acme-acme-acme", b"name of your account"),
    (PASSWORD, "y" * 1025, "y" * 1025, b"too long"),
])
def test_bad_password_changes_change_nothing(personas: Personas, signed_in: Signer,
                                             current: str, new1: str, new2: str,
                                             field: bytes) -> None:
    bob = unlocked(signed_in, personas.member)
    response = bob.post("/security/password/", {"current_password": current,
                                                "new_password1": new1, "new_password2": new2},
                        follow=True)
    assert response.status_code == 200 and field in response.content
    personas.member.refresh_from_db()
    assert personas.member.check_password(PASSWORD)


# --- API tokens ------------------------------------------------------------------------

def create_token(visitor: Visitor, name: str = "ci", days: str = "90") -> str:
    response = visitor.post("/security/tokens/create/", {"name": name, "expires_in_days": days})
    assert response.status_code == 302 and response["Location"].endswith("#new-token")
    response = visitor.get(response["Location"])  # post/redirect/get: shown on the page
    assert response.status_code == 200, response.content[-500:]
    match = re.search(rb'data-testid="new-token"', response.content)
    assert match
    return re.search(r"lgp_[0-9A-Za-z]{38}", response.content.decode()).group(0)  # type: ignore[union-attr]


def test_token_is_shown_once_and_stored_only_as_a_hash(personas: Personas,
                                                       signed_in: Signer) -> None:
    from loginguard.apitokens import format as token_format
    from loginguard.apitokens.models import ApiToken

    bob = unlocked(signed_in, personas.member)
    token = create_token(bob)
    assert token_format.well_formed(token)
    row = ApiToken.objects.get()
    assert row.token_hash == token_format.token_hash(token) and token not in str(
        ApiToken.objects.values().get())
    assert token.encode() not in bob.get(f"/users/{personas.member.pk}/").content
    assert row.display_prefix.encode() in bob.get(f"/users/{personas.member.pk}/").content
    assert (row.expires_at - row.created_at) == timedelta(days=90)
    [mail] = [m for m in emails_to("bob@acme.example") if "API token" in m.subject]
    assert token not in str(mail.body)


@pytest.mark.parametrize(("name", "days"), [("", "30"), ("x" * 65, "30"), ("ok", "8"),
                                            ("ok", "abc"), ("ok", "-7"), ("ok", "99999")])
def test_bad_token_requests_create_nothing(personas: Personas, signed_in: Signer,
                                           name: str, days: str) -> None:
    from loginguard.apitokens.models import ApiToken

    bob = unlocked(signed_in, personas.member)
    response = bob.post("/security/tokens/create/", {"name": name, "expires_in_days": days},
                        follow=True)
    assert response.status_code == 200 and b'class="errorlist"' in response.content
    assert not ApiToken.objects.exists()


def test_reseller_users_get_no_tokens(personas: Personas, signed_in: Signer) -> None:
    from loginguard.apitokens.models import ApiToken

    rita = unlocked(signed_in, personas.reseller_user)
    assert b"API tokens" not in rita.get(f"/users/{personas.reseller_user.pk}/").content
    assert rita.post("/security/tokens/create/", {"name": "x",
                                                  "expires_in_days": "30"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_at_most_50_live_tokens(personas: Personas, signed_in: Signer) -> None:
    from loginguard.apitokens.models import ApiToken
    from loginguard.apitokens.services import api_token_create

    for n in range(50):
        api_token_create(user=personas.member, name=f"t{n}", days=7)
    bob = unlocked(signed_in, personas.member)
    response = bob.post("/security/tokens/create/", {"name": "one more", "expires_in_days": "7"},
                        follow=True)
    assert response.status_code == 200 and b"50 active tokens" in response.content
    ApiToken.objects.filter(name="t0").update(expires_at=clock.now())  # expired: not live
    create_token(bob, days="7")


def test_revoke_a_token(personas: Personas, signed_in: Signer) -> None:
    from loginguard.apitokens.models import ApiToken

    bob = unlocked(signed_in, personas.member)
    create_token(bob)
    row = ApiToken.objects.get()
    bob.post(f"/security/tokens/{row.pk}/revoke/")
    assert ApiToken.objects.get().revoked_at is not None
    sam = unlocked(signed_in, personas.stranger)
    assert sam.post(f"/security/tokens/{row.pk}/revoke/").status_code == 404


@pytest.mark.parametrize("bad", ["0", "abc", "-1", "9" * 40, "١"])
def test_unknown_session_and_token_ids_are_404(personas: Personas, signed_in: Signer,
                                               bad: str) -> None:
    bob = unlocked(signed_in, personas.member)
    assert bob.post(f"/security/sessions/{bad}/end/").status_code == 404
    assert bob.post(f"/security/tokens/{bad}/revoke/").status_code == 404
    assert bob.post(f"/security/devices/{bad}/rename/", {"name": "x"}).status_code == 404
