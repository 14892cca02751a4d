"""SPEC §2.1: the emailed code."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from loginguard.audit.models import AuditEvent
from loginguard.codes.models import CodePurpose, OneTimeCode
from loginguard.codes.services import Verdict, code_issue, code_verify
from loginguard.lib import clock
from loginguard.throttle import counters, policies
from tests.conftest import Personas, Visitor, emails_to, last_code


def failures(user_id: int) -> int:
    return counters.read(f"code-user:{user_id}").count


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_code_is_six_digits_stored_only_as_hmac(personas: Personas, visitor: Visitor) -> None:
    visitor.password("bob")
    code = last_code("bob@acme.example")
    row = OneTimeCode.objects.get()
    assert len(code) == 6 and code.isdigit()
    assert code not in row.code_hmac and len(row.code_hmac) == 64


def test_expired_code_is_rejected(personas: Personas, visitor: Visitor) -> None:
    visitor.password("bob")
    code = last_code("bob@acme.example")
    clock.advance(timedelta(minutes=9, seconds=59))
    visitor.session_refresh = None
    # Keep the pending login alive but let the code expire: restart the pending clock.
    session = visitor.client.session
    session["lg_pending"]["started_at"] = clock.now().isoformat()
    session.save()
    clock.advance(timedelta(seconds=2))
    response = visitor.code(code)
    assert b"expired" in response.content
    assert visitor.signed_in_as() is None


def test_code_works_once(personas: Personas, visitor: Visitor) -> None:
    visitor.sign_in(personas.member)
    code = last_code("bob@acme.example")
    visitor.post("/logout/")
    visitor.password("bob")
    response = visitor.code(code)  # the old code, replayed into a new pending login
    assert response.status_code == 200 and visitor.signed_in_as() is None


def test_code_from_another_session_is_rejected(personas: Personas) -> None:
    first, second = Visitor(), Visitor()
    first.password("bob")
    code_for_first = last_code("bob@acme.example")
    clock.advance(timedelta(seconds=61))
    second.password("bob")
    assert second.code(code_for_first).status_code == 200
    assert second.signed_in_as() is None


def test_another_users_code_is_rejected(personas: Personas, visitor: Visitor) -> None:
    Visitor().password("alice")
    alices = last_code("alice@acme.example")
    visitor.password("bob")
    assert visitor.code(alices).status_code == 200
    assert visitor.signed_in_as() is None


def test_code_dies_after_five_wrong_tries(personas: Personas, visitor: Visitor) -> None:
    visitor.password("bob")
    code = last_code("bob@acme.example")
    for _ in range(5):
        assert b"not right" in visitor.code(wrong(code)).content
    response = visitor.code(code)  # the 6th try, even the right one
    assert b"no longer be used" in response.content
    assert visitor.signed_in_as() is None


def test_resend_replaces_the_code(personas: Personas, visitor: Visitor) -> None:
    visitor.password("bob")
    first = last_code("bob@acme.example")
    clock.advance(timedelta(seconds=61))
    visitor.post("/login/verify/resend/")
    second = last_code("bob@acme.example")
    assert first != second or OneTimeCode.objects.filter(revoked=True).count() == 1
    assert visitor.code(first).status_code == 200 if first != second else True
    assert visitor.signed_in_as() is None
    assert visitor.code(second).headers["Location"] == "/login/trust/"


def test_resend_has_a_60_second_cooldown_and_5_an_hour(personas: Personas,
                                                       visitor: Visitor) -> None:
    visitor.password("bob")
    response = visitor.post("/login/verify/resend/", follow=True)
    assert b"less than a minute ago" in response.content
    clock.advance(timedelta(seconds=59))
    response = visitor.post("/login/verify/resend/", follow=True)
    assert b"less than a minute ago" in response.content  # still within the 60 s
    clock.advance(timedelta(seconds=2))
    for _ in range(4):
        clock.advance(timedelta(seconds=61))
        visitor.post("/login/verify/resend/")
    clock.advance(timedelta(seconds=61))
    response = visitor.post("/login/verify/resend/", follow=True)
    assert b"Too many codes" in response.content
    codes = [m for m in emails_to("bob@acme.example") if "verification code" in m.subject]
    assert len(codes) == 5


MALFORMED = ["", "abc123", "12345", "1234567", "١٢٣٤٥٦", "1" * 10_000, "12345\x00",
             "-12345", "123.45", "0x1234"]


@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_code_is_a_counted_generic_failure(personas: Personas, visitor: Visitor,
                                                      value: str) -> None:
    visitor.password("bob")
    response = visitor.code(value)
    assert response.status_code == 200 and b"not right" in response.content
    assert failures(personas.member.pk) == 1
    assert visitor.signed_in_as() is None


def test_repeated_code_field_is_a_failure_even_with_the_right_code(personas: Personas,
                                                                   visitor: Visitor) -> None:
    visitor.password("bob")
    code = last_code("bob@acme.example")
    response = visitor.post("/login/verify/", {"code": [code, code]})
    assert response.status_code == 200 and visitor.signed_in_as() is None
    assert failures(personas.member.pk) == 1


def test_spaces_around_and_inside_the_code_are_forgiven(personas: Personas,
                                                        visitor: Visitor) -> None:
    visitor.password("bob")
    code = last_code("bob@acme.example")
    assert visitor.code(f" {code[:3]} {code[3:]} ").headers["Location"] == "/login/trust/"


def test_ten_failures_lock_the_code_step_and_email_the_user(personas: Personas,
                                                            visitor: Visitor) -> None:
    visitor.password("bob")
    for n in range(10):
        code = last_code("bob@acme.example")
        if n and n % 5 == 0:  # resending does not reset the user's count
            clock.advance(timedelta(seconds=61))
            visitor.post("/login/verify/resend/")
            code = last_code("bob@acme.example")
        visitor.code(wrong(code))
    right = last_code("bob@acme.example")
    response = visitor.code(right)
    assert b"locked" in response.content and visitor.signed_in_as() is None
    lockouts = [m for m in emails_to("bob@acme.example") if "not the code" in m.subject]
    assert len(lockouts) == 1
    assert AuditEvent.objects.filter(event_type="code.locked").count() == 1


def test_code_lock_backs_off_from_30_seconds_to_an_hour(personas: Personas) -> None:
    from loginguard.throttle import policies

    user_id = personas.member.pk
    locks = []
    for _ in range(20):
        locks.append(policies.code_failed(user_id).locked_for())
    assert locks[:9] == [0] * 9
    assert locks[9] == 30 and locks[10] == 60 and locks[11] == 120
    assert locks[-1] == 3600


def test_lock_expires_and_the_real_user_gets_in(personas: Personas, visitor: Visitor) -> None:
    from loginguard.throttle import policies

    for _ in range(10):
        policies.code_failed(personas.member.pk)
    clock.advance(timedelta(seconds=31))
    visitor.password("bob")
    assert visitor.code(last_code("bob@acme.example")).headers["Location"] == "/login/trust/"
    assert failures(personas.member.pk) == 0


def test_a_code_read_by_two_requests_is_claimed_by_only_one(personas: Personas,
                                                            visitor: Visitor) -> None:
    """The deterministic half of the race test: a request that read the live code just
    before another used it must not succeed too (conditional UPDATE ... used_at IS NULL)."""
    from loginguard.codes import services

    visitor.password("bob")
    code = last_code("bob@acme.example")
    pending = visitor.client.session["lg_pending"]
    stale = OneTimeCode.objects.get()  # what a concurrent request had read
    assert visitor.code(code).headers["Location"] == "/login/trust/"
    verdict = services._judge(stale, personas.member, "login", pending["challenge"], code)
    assert verdict is services.Verdict.USED_UP


def test_a_locked_code_step_refuses_even_the_right_code(personas: Personas) -> None:
    bob = personas.member
    for _ in range(10):
        policies.code_failed(bob.pk)  # ten consecutive failures: locked for 30 s
    code = code_issue(user=bob, purpose=CodePurpose.LOGIN, challenge="c1", cooldown=False)
    verify = partial(code_verify, user=bob, purpose=CodePurpose.LOGIN, challenge="c1")
    assert verify(submitted=code) is Verdict.LOCKED  # counted: now locked for 60 s
    clock.advance(timedelta(seconds=59))
    assert verify(submitted=code) is Verdict.LOCKED  # and now for 120 s
    clock.advance(timedelta(seconds=121))
    assert verify(submitted=code) is Verdict.OK  # the lock never blocks the real user forever


def test_only_the_exact_code_is_accepted(personas: Personas) -> None:
    bob = personas.member
    for n in range(40):
        challenge = f"c{n}"
        code = code_issue(user=bob, purpose=CodePurpose.LOGIN, challenge=challenge,
                          cooldown=False)
        other = code_issue(user=personas.admin, purpose=CodePurpose.LOGIN,
                           challenge=f"other-{n}", cooldown=False)  # a live code, not bob's
        near_misses = {code[:-1] + str((int(code[-1]) + 1) % 10),
                       str((int(code[0]) + 1) % 10) + code[1:], code[1:] + code[0], other}
        verify = partial(code_verify, user=bob, purpose=CodePurpose.LOGIN, challenge=challenge)
        assert [verify(submitted=c) for c in near_misses - {code}] == \
            [Verdict.WRONG] * len(near_misses - {code})
        assert verify(submitted=code) is Verdict.OK  # also clears the failure counter
        counters.clear(f"code-issued:login:{bob.pk}")  # the hourly quota is not under test
        counters.clear(f"code-issued:login:{personas.admin.pk}")
