"""The signed-in home (issue 29, part 1): the last sign-ins, devices and sessions, factors
against the policy, the alerts of 30 days with "This was me" / "This wasn't me"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from loginguard.audit.events import EventType
from loginguard.audit.models import AlertAnswer, AuditEvent
from loginguard.lib import clock
from loginguard.tenancy.models import ClientAccount
from tests.conftest import PASSWORD, Personas, Visitor

pytestmark = pytest.mark.django_db


def signed_in(user: Any, trust: str = "no", **kwargs: Any) -> Visitor:
    visitor = Visitor(**kwargs)
    assert visitor.sign_in(user, trust=trust).headers["Location"] == "/"
    return visitor


def unlock(visitor: Visitor) -> None:
    assert visitor.post("/security/unlock/", {"password": PASSWORD}).status_code == 302


def untrusted_alert(user: Any) -> AuditEvent:
    return AuditEvent.objects.filter(subject=user,
                                     event_type=EventType.UNTRUSTED_LOGIN).latest("id")


def test_the_home_shows_the_last_sign_ins_devices_sessions_and_factors(
        personas: Personas) -> None:
    signed_in(personas.member, trust="yes", ip="198.51.100.7")
    clock.advance(timedelta(minutes=5))
    bob = signed_in(personas.member, ip="198.51.100.7")  # another browser: untrusted
    page = bob.get("/").content.decode()
    assert "Your last sign-ins" in page
    assert page.count("Chrome on Windows") >= 2 and "198.51.100.7" in page
    assert "Emailed code" in page
    assert "Trusted devices</dt><dd>1 " in page and "Signed-in sessions</dt><dd>2 " in page
    assert "Password and emailed code." in page and "Add a passkey or an authenticator app" \
        in page
    assert "An emailed code" in page  # what the account asks


def test_a_trusted_device_sign_in_says_so(personas: Personas) -> None:
    bob = signed_in(personas.member, trust="yes")
    bob.post("/logout/")
    assert bob.password("bob").headers["Location"] == "/"  # trusted: no code
    rows = bob.get("/").content.decode().split("<tbody>")[1].split("</tbody>")[0]
    first = rows.split("</tr>")[0]
    assert "Trusted device" in first and ">Yes<" in first


def test_the_home_needs_no_unlock_but_answering_an_alert_does(personas: Personas) -> None:
    bob = signed_in(personas.member)
    page = bob.get("/").content.decode()
    alert = untrusted_alert(personas.member)
    assert "Sign-in from a device you had not trusted" in page and "1 to check" in page
    assert f'action="/security/alerts/{alert.pk}/"' in page
    locked = bob.post(f"/security/alerts/{alert.pk}/", {"answer": "me"})
    assert locked.status_code == 403 and not AlertAnswer.objects.exists()
    unlock(bob)
    answered = bob.post(f"/security/alerts/{alert.pk}/", {"answer": "me"})
    assert answered.headers["Location"] == "/"
    assert AlertAnswer.objects.get().answer == "me"
    assert AuditEvent.objects.filter(event_type=EventType.ALERT_CONFIRMED,
                                     extra__alert=alert.pk).count() == 1
    page = bob.get("/").content.decode()
    assert "You said this was you." in page and "to check" not in page
    # Answered once: a second answer (another tab) changes nothing.
    again = bob.post(f"/security/alerts/{alert.pk}/", {"answer": "not_me"}, follow=True)
    assert "Nothing was changed" in again.content.decode()
    assert AlertAnswer.objects.get().answer == "me"


def test_this_wasnt_me_leads_to_the_password_change(personas: Personas) -> None:
    bob = signed_in(personas.member)
    signed_in(personas.member, ip="203.0.113.99")  # the intruder's session
    alert = untrusted_alert(personas.member)
    unlock(bob)
    answered = bob.post(f"/security/alerts/{alert.pk}/", {"answer": "not_me"})
    assert answered.headers["Location"] == f"/users/{personas.member.pk}/#change-password"
    page = bob.get(answered.headers["Location"]).content.decode()
    assert "Change your password now" in page and "signs out every other session" in page
    assert AuditEvent.objects.filter(event_type=EventType.ALERT_DENIED).count() == 1
    # The password change it leads to signs the intruder's session out.
    changed = bob.post("/security/password/", {
        "current_password": PASSWORD, "new_password1": "a new long passphrase 42",
        "new_password2": "a new long passphrase 42"})
    assert changed.status_code == 302
    from loginguard.signin.models import UserSession
    assert UserSession.objects.filter(user=personas.member).count() == 1


@pytest.mark.parametrize("alert_id,data", [
    ("abc", {"answer": "me"}), ("99999999999999999999", {"answer": "me"}),
    ("0", {"answer": "me"}), ("-1", {"answer": "me"}),
    ("{own}", {}), ("{own}", {"answer": ""}), ("{own}", {"answer": "x" * 5000}),
    ("{own}", {"answer": ["me", "not_me"]}), ("{other}", {"answer": "me"}),
    ("{not_an_alert}", {"answer": "me"}),
])
def test_bad_answers_change_nothing(personas: Personas, alert_id: str,
                                    data: dict[str, Any]) -> None:
    signed_in(personas.admin)  # alice's own alert: another user's
    bob = signed_in(personas.member)
    unlock(bob)
    ids = {"{own}": untrusted_alert(personas.member).pk,
           "{other}": untrusted_alert(personas.admin).pk,
           "{not_an_alert}": AuditEvent.objects.filter(
               subject=personas.member, event_type=EventType.LOGIN_SUCCEEDED).latest("id").pk}
    target = str(ids.get(alert_id, alert_id))
    before = AuditEvent.objects.count()
    response = bob.post(f"/security/alerts/{target}/", data)
    assert response.status_code in (302, 404)
    assert not AlertAnswer.objects.exists() and AuditEvent.objects.count() == before


def test_alerts_older_than_30_days_are_not_asked_about(personas: Personas) -> None:
    signed_in(personas.member)
    clock.advance(timedelta(days=31))
    bob = signed_in(personas.member, trust="yes")
    old = AuditEvent.objects.filter(subject=personas.member,
                                    event_type=EventType.UNTRUSTED_LOGIN).earliest("id")
    page = bob.get("/").content.decode()
    assert page.count("Sign-in from a device you had not trusted") == 0
    unlock(bob)
    bob.post(f"/security/alerts/{old.pk}/", {"answer": "me"})
    assert not AlertAnswer.objects.exists()


def test_a_stricter_policy_is_on_the_home(personas: Personas) -> None:
    bob = signed_in(personas.member)
    ClientAccount.objects.filter(pk=personas.account.pk).update(factor_policy="passkey")
    page = bob.get("/").content.decode()
    assert "Add a passkey" in page and "Your account requires a passkey" in page
    assert 'href="/security/factors/enroll/"' in page


def test_an_admin_and_a_reseller_user_find_the_overview_from_home(
        personas: Personas) -> None:
    alice = signed_in(personas.admin)
    assert f'href="/accounts/{personas.account.pk}/overview/"' in alice.get("/").content.decode()
    rita = signed_in(personas.reseller_user)
    assert 'href="/overview/"' in rita.get("/").content.decode()
    bob = signed_in(personas.member)
    assert "overview" not in bob.get("/").content.decode()
