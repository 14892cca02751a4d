"""Every sign-in event writes its audit row, with the derived IP and the User-Agent."""

from __future__ import annotations

from datetime import timedelta

from loginguard.audit.models import AuditEvent
from loginguard.lib import clock
from tests.conftest import CHROME_WINDOWS, FIREFOX_LINUX, Personas, Visitor, deliver, last_code


def events(user_id: int) -> list[str]:
    return list(AuditEvent.objects.filter(subject_id=user_id).order_by("created_at", "id")
                .values_list("event_type", flat=True))


def test_the_whole_story_is_in_the_log(personas: Personas, visitor: Visitor) -> None:
    bob = personas.member
    visitor.password("bob", "wrong-password-1")
    visitor.password("bob")
    visitor.code("000000" if last_code(bob.email) != "000000" else "111111")
    visitor.code(last_code(bob.email))
    visitor.trust("yes", "Laptop")
    visitor.post("/logout/")
    visitor.password("bob")  # trusted: no code
    visitor.client.defaults["HTTP_USER_AGENT"] = FIREFOX_LINUX
    visitor.get("/")  # fingerprint changed -> signed out
    clock.advance(timedelta(seconds=61))
    Visitor().post("/password/reset/", {"email": bob.email})
    deliver()  # the worker looks the address up and writes the row (review finding 3)
    assert events(bob.pk)[1:] == [  # [0] is user.created
        "login.failed", "code.sent", "code.failed", "code.verified", "device.trusted",
        "login.succeeded", "session.ended", "device.used", "login.succeeded",
        "session.fingerprint_changed", "password.reset_requested",
    ]
    failed = AuditEvent.objects.filter(event_type="login.failed").get()
    assert failed.ip == visitor.ip and failed.user_agent == CHROME_WINDOWS
    assert failed.account == personas.account and failed.reseller == personas.reseller


def test_untrusted_sign_in_is_logged(personas: Personas, visitor: Visitor) -> None:
    visitor.sign_in(personas.member, trust="no")
    assert "login.untrusted_device" in events(personas.member.pk)
