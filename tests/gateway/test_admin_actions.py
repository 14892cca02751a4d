"""SPEC §5: accounts, invitations, deactivation, the IP policy."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings

from loginguard.apitokens.services import api_token_create
from loginguard.audit.models import AuditEvent
from loginguard.lib import clock
from loginguard.tenancy.models import ClientAccount, Connection
from loginguard.users.models import User
from tests.conftest import Personas, Visitor, emails_to, last_code

Signer = Callable[..., Visitor]
NEW = "an-invited-users-passphrase"


def invite_link(address: str) -> str:
    [mail] = [m for m in emails_to(address) if "invited" in m.subject]
    return re.search(r"http://[^\s]+/invite/[^\s]+/", str(mail.body)).group(0)[  # type: ignore[union-attr]
        len(settings.BASE_URL):]


def test_reseller_creates_an_account_with_an_invited_admin(personas: Personas,
                                                           signed_in: Signer) -> None:
    rita = signed_in(personas.reseller_user)
    response = rita.post("/gateway/", {"name": "Initech", "admin_username": "peter",
                                       "admin_email": "peter@initech.example"})
    assert response.status_code == 302
    account = ClientAccount.objects.get(name="Initech")
    assert account.reseller == personas.reseller
    peter = User.objects.get(username="peter")
    assert peter.is_client_admin and not peter.has_usable_password()
    assert Connection.objects.filter(user=personas.reseller_user, account=account).exists()
    link = invite_link("peter@initech.example")
    assert Visitor().post(link, {"new_password1": NEW, "new_password2": NEW}
                          ).headers["Location"] == "/login/"
    browser = Visitor()
    assert browser.password("peter", NEW).headers["Location"] == "/login/verify/"
    assert browser.code(last_code("peter@initech.example")).headers["Location"] == \
        "/login/trust/"


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "", "admin_username": "p", "admin_email": "p@x.example"}, b"can&#x27;t be empty"),
    ({"name": "Acme", "admin_username": "p", "admin_email": "p@x.example"}, b"not available"),
    ({"name": "New", "admin_username": "BOB", "admin_email": "p@x.example"}, b"not available"),
    ({"name": "New", "admin_username": "p", "admin_email": "nope"}, b"not a valid email"),
    # Review finding 12: control characters are a form error on both databases, never a 500
    ({"name": "Bad\x00Name", "admin_username": "p", "admin_email": "p@x.example"},
     b"Use only"),
    ({"name": "Bell\x07Name", "admin_username": "p", "admin_email": "p@x.example"}, b"Use only"),
    ({"name": "New", "admin_username": "p\x00", "admin_email": "p@x.example"}, b"Use only"),
    # Review finding 11: no URL rides into an invitation's text
    ({"name": "Visit www.evil.example", "admin_username": "p", "admin_email": "p@x.example"},
     b"web address"),
    ({"name": "https//evil", "admin_username": "p", "admin_email": "p@x.example"},
     b"Use only"),
    ({"name": "New", "admin_username": "https://evil.example", "admin_email": "p@x.example"},
     b"Use only"),
])
def test_bad_account_creation_changes_nothing(personas: Personas, signed_in: Signer,
                                              data: dict[str, str], message: bytes) -> None:
    rita = signed_in(personas.reseller_user)
    before = (ClientAccount.objects.count(), User.objects.count())
    response = rita.post("/gateway/", data)
    assert response.status_code == 400 and message in response.content
    assert (ClientAccount.objects.count(), User.objects.count()) == before


def invite(visitor: Visitor, personas: Personas, username: str = "newbie") -> None:
    response = visitor.post(f"/accounts/{personas.account.pk}/invite/",
                            {"username": username, "email": f"{username}@acme.example"})
    assert response.status_code == 302


def test_invitation_link_works_once(personas: Personas, signed_in: Signer) -> None:
    invite(signed_in(personas.admin), personas)
    link = invite_link("newbie@acme.example")
    Visitor().post(link, {"new_password1": NEW, "new_password2": NEW})
    again = Visitor().post(link, {"new_password1": NEW + "x", "new_password2": NEW + "x"})
    assert again.status_code == 400
    assert User.objects.get(username="newbie").check_password(NEW)


def test_invitation_expires_after_72_hours(personas: Personas, signed_in: Signer) -> None:
    invite(signed_in(personas.admin), personas)
    link = invite_link("newbie@acme.example")
    clock.advance(timedelta(hours=72, seconds=1))
    assert Visitor().get(link).status_code == 400


def test_invitation_of_a_deactivated_user_is_dead(personas: Personas, signed_in: Signer) -> None:
    alice = signed_in(personas.admin)
    invite(alice, personas)
    link = invite_link("newbie@acme.example")
    newbie = User.objects.get(username="newbie")
    alice.post(f"/users/{newbie.pk}/permissions/", {})
    assert Visitor().get(link).status_code == 400


def test_invitation_password_must_pass_the_policy(personas: Personas, signed_in: Signer) -> None:
    invite(signed_in(personas.admin), personas)
    link = invite_link("newbie@acme.example")
    response = Visitor().post(link, {"new_password1": "newbie-acme", "new_password2":
                                     "newbie-acme"})
    assert response.status_code == 200 and b"too short" in response.content
    assert not User.objects.get(username="newbie").has_usable_password()


@pytest.mark.parametrize(("data", "message"), [
    ({"username": "", "email": "a@x.example"}, b"can&#x27;t be empty"),
    ({"username": "Bob", "email": "a@x.example"}, b"not available"),
    ({"username": "ok", "email": "bad"}, b"not a valid email"),
    ({"username": "x" * 151, "email": "a@x.example"}, b"at most 150"),
    ({"username": "nul\x00l", "email": "a@x.example"}, b"Use only"),
    ({"username": "line\nbreak", "email": "a@x.example"}, b"Use only"),
    ({"username": "www.evil.example", "email": "a@x.example"}, b"web address"),
    ({"username": "ok", "email": "a\x00@x.example"}, b"not a valid email"),
])
def test_bad_invitations_change_nothing(personas: Personas, signed_in: Signer,
                                        data: dict[str, str], message: bytes) -> None:
    alice = signed_in(personas.admin)
    before = User.objects.count()
    response = alice.post(f"/accounts/{personas.account.pk}/invite/", data)
    assert response.status_code == 400 and message in response.content
    assert User.objects.count() == before


def test_deactivation_ends_sessions_tokens_and_sign_in(personas: Personas,
                                                       signed_in: Signer) -> None:
    bob = signed_in(personas.member)
    api_token_create(user=personas.member, name="t", days=7)
    alice = signed_in(personas.admin, ip="203.0.113.4")
    alice.post(f"/users/{personas.member.pk}/permissions/", {})
    assert bob.get("/").headers["Location"] == "/login/"
    from loginguard.apitokens.models import ApiToken

    assert ApiToken.objects.get().revoked_at is not None
    assert b"That username and password don" in Visitor().password("bob").content
    assert any("deactivated" in m.subject for m in emails_to("bob@acme.example"))
    assert AuditEvent.objects.filter(event_type="user.deactivated", actor=personas.admin
                                     ).exists()
    alice.post(f"/users/{personas.member.pk}/permissions/", {"is_active": "on"})
    assert Visitor().password("bob").headers["Location"] == "/login/verify/"


def test_admin_sends_a_reset_email_but_never_sees_the_link(personas: Personas,
                                                           signed_in: Signer) -> None:
    alice = signed_in(personas.admin)
    page = alice.post(f"/accounts/{personas.account.pk}/users/{personas.member.pk}/reset/",
                      follow=True)
    assert b"/password/reset/" not in page.content
    assert any("Reset" in m.subject for m in emails_to("bob@acme.example"))


def test_admin_reset_emails_are_budgeted_per_target(personas: Personas,
                                                    signed_in: Signer) -> None:
    alice = signed_in(personas.admin)
    url = f"/accounts/{personas.account.pk}/users/{personas.member.pk}/reset/"
    for _ in range(4):
        page = alice.post(url, follow=True)
    assert b"Too many invitations or reset links" in page.content
    assert len([m for m in emails_to("bob@acme.example") if "Reset" in m.subject]) == 3


def test_admin_mail_is_budgeted_per_actor(personas: Personas, signed_in: Signer) -> None:
    alice = signed_in(personas.admin)
    for n in range(30):
        alice.post(f"/accounts/{personas.account.pk}/invite/",
                   {"username": f"n{n}", "email": f"n{n}@acme.example"})
    response = alice.post(f"/accounts/{personas.account.pk}/invite/",
                          {"username": "late", "email": "late@acme.example"})
    assert response.status_code == 400 and b"Too many" in response.content
    assert not User.objects.filter(username="late").exists()


def test_suspending_an_account_ends_sessions_for_good(personas: Personas,
                                                      signed_in: Signer) -> None:
    from loginguard.actions.tenants import account_set_active
    from loginguard.signin.models import UserSession

    bob = signed_in(personas.member)
    alice = signed_in(personas.admin, ip="203.0.113.4")
    rita = signed_in(personas.reseller_user, ip="203.0.113.5")
    assert account_set_active(account=personas.account, active=False) == 2
    account_set_active(account=personas.account, active=True)
    # Resuming brings no old session back: both sign in again, code included.
    assert bob.get("/").headers["Location"] == "/login/"
    assert alice.get("/").headers["Location"] == "/login/"
    assert rita.get("/").status_code == 200  # a reseller user's session is the reseller's
    assert UserSession.objects.filter(user=personas.member).count() == 0
    assert AuditEvent.objects.filter(event_type="account.suspended").exists()


def test_suspending_a_reseller_ends_its_users_sessions_for_good(personas: Personas,
                                                                signed_in: Signer) -> None:
    from loginguard.actions.tenants import reseller_set_active

    rita = signed_in(personas.reseller_user)
    assert reseller_set_active(reseller=personas.reseller, active=False) == 1
    reseller_set_active(reseller=personas.reseller, active=True)
    assert rita.get("/").headers["Location"] == "/login/"


def test_ip_policy_change_is_audited_and_applies_at_next_sign_in(personas: Personas,
                                                                  signed_in: Signer) -> None:
    bob = signed_in(personas.member, trust="yes")
    bob.post("/logout/")
    alice = signed_in(personas.admin, ip="203.0.113.4")
    assert alice.post(f"/accounts/{personas.account.pk}/ip-policy/",
                      {"ip_match": "network"}).status_code == 302
    event = AuditEvent.objects.get(event_type="account.ip_policy_changed")
    assert event.extra == {"from": "exact", "to": "network"} and event.actor == personas.admin
    bob.ip = "198.51.100.200"  # same /24
    assert bob.password("bob").headers["Location"] == "/"


@pytest.mark.parametrize("policy", ["", "EXACT", "anything", "x" * 5000])
def test_bad_ip_policy_changes_nothing(personas: Personas, signed_in: Signer,
                                       policy: str) -> None:
    alice = signed_in(personas.admin)
    response = alice.post(f"/accounts/{personas.account.pk}/ip-policy/", {"ip_match": policy})
    assert response.status_code == 400
    assert ClientAccount.objects.get(pk=personas.account.pk).ip_match == "exact"



def test_a_reseller_user_sets_the_policy_of_the_resellers_own_users(
        personas: Personas, signed_in: Signer) -> None:
    from loginguard.tenancy.models import Reseller

    rita = signed_in(personas.reseller_user)
    page = rita.get("/gateway/")
    assert b"IP policy for the users of Northwind" in page.content
    assert rita.post("/gateway/ip-policy/", {"ip_match": "network"}).status_code == 302
    assert Reseller.objects.get(pk=personas.reseller.pk).ip_match == "network"
    event = AuditEvent.objects.get(event_type="reseller.ip_policy_changed")
    assert event.extra == {"from": "exact", "to": "network"}
    assert event.actor == personas.reseller_user
    assert rita.post("/gateway/ip-policy/", {"ip_match": "bogus"}).status_code == 400
    # Only the reseller's own: Southwind's is untouched; a client user gets no gateway.
    assert Reseller.objects.get(pk=personas.other_reseller.pk).ip_match == "exact"
    bob = signed_in(personas.member)
    assert bob.post("/gateway/ip-policy/", {"ip_match": "off"}).status_code == 404
    assert Reseller.objects.get(pk=personas.reseller.pk).ip_match == "network"
