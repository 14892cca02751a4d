"""Email changes (SPEC §3, review finding 1–2 and 11): the user's own change needs the
unlock and the code sent to the new address; anyone else's is only a proposal that the user
approves; the proposed address receives nothing that signs anyone in until then."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from loginguard.devices.models import TrustedDevice
from loginguard.lib import clock
from loginguard.throttle import counters
from loginguard.users.models import EmailChange
from tests.conftest import Personas, Visitor, deliver, emails_to, last_code
from tests.security.conftest import unlock

Signer = Callable[..., Visitor]


def change_email(visitor: Visitor, user_id: int, email: str) -> Any:
    return visitor.post(f"/users/{user_id}/", {"first_name": "", "last_name": "", "phone": "",
                                               "time_zone": "UTC", "email": email})


def email_code(address: str) -> str:
    [mail] = [m for m in emails_to(address) if "Confirm your new email" in m.subject]
    return re.findall(r"(?<!\d)\d{6}(?!\d)", str(mail.body))[0]


def unlocked(signed_in: Signer, user: object, **kwargs: object) -> Visitor:
    visitor = signed_in(user, **kwargs)
    assert unlock(visitor).status_code == 302
    return visitor


# --- the user's own change -------------------------------------------------------------

def test_email_changes_only_after_the_code_from_the_new_address(personas: Personas,
                                                                 signed_in: Signer) -> None:
    bob = unlocked(signed_in, personas.member, trust="yes")
    signed_in(personas.member, trust="yes", ip="203.0.113.1")
    change_email(bob, personas.member.pk, "robert@new.example")
    personas.member.refresh_from_db()
    assert personas.member.email == "bob@acme.example"
    assert any("change of your email" in m.subject for m in emails_to("bob@acme.example"))
    # Until confirmed, sign-in codes still go to the old address.
    Visitor(ip="192.0.2.1").password("bob")
    assert last_code("bob@acme.example")
    code = email_code("robert@new.example")
    assert bob.post(f"/users/{personas.member.pk}/email/confirm/", {"code": code}).status_code \
        == 302
    personas.member.refresh_from_db()
    assert personas.member.email == "robert@new.example"
    assert TrustedDevice.objects.count() == 1  # only the device the change was made from
    assert any("email address was changed" in m.subject for m in emails_to("bob@acme.example"))


def test_a_session_alone_cannot_change_the_users_own_email(personas: Personas,
                                                           signed_in: Signer) -> None:
    # Review finding 2: a borrowed session must not be enough to redirect codes and resets.
    bob = signed_in(personas.member)
    response = change_email(bob, personas.member.pk, "robert@new.example")
    assert response.status_code == 302  # back to the record (post/redirect/get) ...
    page = bob.get(response["Location"]).content
    assert b"unlock the Security section" in page  # ... which says why
    assert not EmailChange.objects.exists()
    deliver()
    assert not emails_to("robert@new.example")


def test_the_code_is_entered_only_while_unlocked(personas: Personas,
                                                 signed_in: Signer) -> None:
    bob = unlocked(signed_in, personas.member)
    change_email(bob, personas.member.pk, "robert@new.example")
    code = email_code("robert@new.example")
    bob.post("/security/lock/")
    response = bob.post(f"/users/{personas.member.pk}/email/confirm/", {"code": code},
                        follow=True)
    assert b'class="errorlist"' in response.content
    personas.member.refresh_from_db()
    assert personas.member.email == "bob@acme.example"


@pytest.mark.parametrize("wrong", ["000000", "", "abcdef", "1" * 5000, "12\x003456"])
def test_wrong_email_code_changes_nothing(personas: Personas, signed_in: Signer,
                                          wrong: str) -> None:
    bob = unlocked(signed_in, personas.member)
    change_email(bob, personas.member.pk, "robert@new.example")
    if wrong == email_code("robert@new.example"):
        wrong = "999999"
    response = bob.post(f"/users/{personas.member.pk}/email/confirm/", {"code": wrong},
                        follow=True)
    assert b'class="errorlist"' in response.content
    personas.member.refresh_from_db()
    assert personas.member.email == "bob@acme.example"


def test_expired_email_code_changes_nothing(personas: Personas, signed_in: Signer) -> None:
    bob = unlocked(signed_in, personas.member)
    change_email(bob, personas.member.pk, "robert@new.example")
    code = email_code("robert@new.example")
    clock.advance(timedelta(minutes=10, seconds=1))
    unlock(bob)
    response = bob.post(f"/users/{personas.member.pk}/email/confirm/", {"code": code})
    assert response.status_code in (302, 400)
    personas.member.refresh_from_db()
    assert personas.member.email == "bob@acme.example"


def test_wrong_email_codes_never_lock_the_sign_in_code_step(personas: Personas,
                                                             signed_in: Signer) -> None:
    # Review finding 11: the email-change code has its own failure counter, and its
    # lock-out sends no "someone entered your password" alert.
    bob = unlocked(signed_in, personas.member)
    change_email(bob, personas.member.pk, "robert@new.example")
    for _ in range(12):
        bob.post(f"/users/{personas.member.pk}/email/confirm/", {"code": "000000"})
    assert counters.read(f"code-email_change:{personas.member.pk}").count >= 10
    assert counters.read(f"code-user:{personas.member.pk}").count == 0
    assert not [m for m in deliver() if "code" in m.subject.lower() and "entered" in
                str(m.body) and "bob@acme.example" in m.to and "password" in m.subject.lower()]
    # bob still signs in with the code as usual
    fresh = Visitor(ip="192.0.2.9")
    assert fresh.sign_in(personas.member).headers["Location"] == "/"


# --- a change someone else starts ------------------------------------------------------

def test_an_admins_change_is_a_proposal_that_reaches_only_the_current_address(
        personas: Personas, signed_in: Signer) -> None:
    alice = signed_in(personas.admin)
    response = change_email(alice, personas.member.pk, "alice-owned@evil.example")
    assert response.status_code == 302
    sent = deliver()
    assert not [m for m in sent if "alice-owned@evil.example" in m.to]  # no code, no link
    [approval] = [m for m in sent if "asked to change your email" in m.subject]
    assert approval.to == ["bob@acme.example"]
    assert "alice-owned@evil.example" in str(approval.body)
    change = EmailChange.objects.get()
    assert change.awaiting_approval and change.requested_by == personas.admin
    personas.member.refresh_from_db()
    assert personas.member.email == "bob@acme.example"


def test_the_takeover_path_of_the_review_is_closed(personas: Personas,
                                                   signed_in: Signer) -> None:
    # Review finding 1: change the address to one the admin owns, confirm it, then send a
    # reset link. Now the admin can't confirm anything, and the link goes to bob.
    alice = signed_in(personas.admin)
    change_email(alice, personas.member.pk, "alice-owned@evil.example")
    response = alice.post(f"/users/{personas.member.pk}/email/confirm/", {"code": "123456"})
    assert response.status_code == 403
    alice.post(f"/accounts/{personas.account.pk}/users/{personas.member.pk}/reset/")
    sent = deliver()
    assert [m.to for m in sent if "Reset" in m.subject] == [["bob@acme.example"]]
    assert not [m for m in sent if "alice-owned@evil.example" in m.to]
    personas.member.refresh_from_db()
    assert personas.member.email == "bob@acme.example"


def test_only_the_user_approves_and_then_confirms_with_the_code(personas: Personas,
                                                                signed_in: Signer) -> None:
    alice = signed_in(personas.admin)
    change_email(alice, personas.member.pk, "bob2@acme.example")
    assert alice.post(f"/users/{personas.member.pk}/email/approve/").status_code == 403
    bob = signed_in(personas.member, ip="203.0.113.5")
    page = bob.get(f"/users/{personas.member.pk}/").content
    assert b"asked to change your email" in page and b"first unlock" in page
    refused = bob.post(f"/users/{personas.member.pk}/email/approve/", follow=True)
    assert b'class="errorlist"' in refused.content and not emails_to("bob2@acme.example")
    unlock(bob)
    assert bob.post(f"/users/{personas.member.pk}/email/approve/").status_code == 302
    code = email_code("bob2@acme.example")
    assert alice.post(f"/users/{personas.member.pk}/email/confirm/",
                      {"code": code}).status_code == 403  # still only bob
    bob.post(f"/users/{personas.member.pk}/email/confirm/", {"code": code})
    personas.member.refresh_from_db()
    assert personas.member.email == "bob2@acme.example"


def test_a_connected_reseller_user_can_only_propose(personas: Personas,
                                                    signed_in: Signer) -> None:
    rita = signed_in(personas.reseller_user)
    change_email(rita, personas.member.pk, "rita-owned@evil.example")
    assert EmailChange.objects.get().awaiting_approval
    deliver()
    assert not emails_to("rita-owned@evil.example")


def test_the_user_can_decline_a_proposal(personas: Personas, signed_in: Signer) -> None:
    alice = signed_in(personas.admin)
    change_email(alice, personas.member.pk, "bob2@acme.example")
    bob = signed_in(personas.member, ip="203.0.113.5")
    bob.post(f"/users/{personas.member.pk}/email/cancel/")
    assert not EmailChange.objects.exists()


def test_admin_proposals_are_budgeted(personas: Personas, signed_in: Signer) -> None:
    alice = signed_in(personas.admin)
    for n in range(4):
        change_email(alice, personas.member.pk, f"bob{n}@acme.example")
    approvals = [m for m in emails_to("bob@acme.example") if "asked to change" in m.subject]
    assert len(approvals) == 3  # 3 an hour to one address


def test_another_accounts_admin_cannot_change_the_email(personas: Personas,
                                                        signed_in: Signer) -> None:
    sam = signed_in(personas.stranger)
    assert change_email(sam, personas.member.pk, "evil@x.example").status_code == 404
    deliver()
    assert not emails_to("evil@x.example")
    assert not EmailChange.objects.exists()


def test_an_admins_proposal_never_replaces_the_users_own_change_in_progress(
        personas: Personas, signed_in: Signer) -> None:
    """Issue 25, finding 13: the admin's proposal used to replace bob's own pending change
    silently (his code then confirmed nothing)."""
    bob = unlocked(signed_in, personas.member)
    change_email(bob, personas.member.pk, "robert@new.example")
    alice = signed_in(personas.admin)
    response = change_email(alice, personas.member.pk, "bob@elsewhere.example")
    page = alice.get(response["Location"]).content.decode()
    assert "confirming a new address of their own" in page
    change = EmailChange.objects.get()
    assert change.new_email == "robert@new.example" and change.requested_by == personas.member
    assert bob.post(f"/users/{personas.member.pk}/email/confirm/",
                    {"code": email_code("robert@new.example")}).status_code == 302
    personas.member.refresh_from_db()
    assert personas.member.email == "robert@new.example"
    # Once the code can no longer be entered, the admin's proposal goes ahead.
    change_email(bob, personas.member.pk, "bobby@new.example")
    clock.advance(timedelta(minutes=11))
    change_email(alice, personas.member.pk, "bob@elsewhere.example")
    assert EmailChange.objects.get().new_email == "bob@elsewhere.example"
