"""SPEC §5 isolation: nothing of another reseller or account is visible or reachable."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from loginguard.tenancy.models import ClientAccount, Connection
from loginguard.users.models import User
from tests.conftest import Personas, Visitor

Signer = Callable[..., Visitor]


def test_gateway_is_for_reseller_users_only(personas: Personas, signed_in: Signer) -> None:
    for actor in (personas.member, personas.admin, personas.stranger):
        assert signed_in(actor).get("/gateway/").status_code == 404
    assert Visitor().get("/gateway/").status_code == 302
    rita = signed_in(personas.reseller_user)
    page = rita.get("/gateway/")
    assert page.status_code == 200 and b"Acme" in page.content and b"Globex" not in page.content


def test_other_resellers_accounts_are_404_in_every_gateway_url(personas: Personas,
                                                               signed_in: Signer) -> None:
    foreign = ClientAccount.objects.create(name="Foreign", reseller=personas.other_reseller)
    rita = signed_in(personas.reseller_user)
    for account in (foreign, personas.other_account):
        assert rita.get(f"/gateway/accounts/{account.pk}/").status_code == 404
        assert rita.post(f"/gateway/accounts/{account.pk}/connect/",
                         {"user_id": str(personas.reseller_user.pk)}).status_code == 404
        assert rita.get(f"/accounts/{account.pk}/").status_code == 404
    assert not Connection.objects.filter(account=foreign).exists()


def test_cannot_connect_another_resellers_user(personas: Personas, signed_in: Signer) -> None:
    rita = signed_in(personas.reseller_user)
    response = rita.post(f"/gateway/accounts/{personas.account.pk}/connect/",
                         {"user_id": str(personas.other_reseller_user.pk)})
    assert response.status_code == 404
    assert not Connection.objects.filter(user=personas.other_reseller_user).exists()


@pytest.mark.parametrize("who", ["admin", "reseller_user"])
def test_account_admins_and_connected_resellers_manage_the_account(
        personas: Personas, signed_in: Signer, who: str) -> None:
    visitor = signed_in(getattr(personas, who))
    page = visitor.get(f"/accounts/{personas.account.pk}/")
    assert page.status_code == 200 and re.search(rb"\bbob\b", page.content)
    assert not re.search(rb"\bsam\b", page.content)  # another account's user


@pytest.mark.parametrize("who", ["member", "stranger", "other_reseller_user"])
def test_everyone_else_gets_404_for_account_pages(personas: Personas, signed_in: Signer,
                                                  who: str) -> None:
    visitor = signed_in(getattr(personas, who))
    base = f"/accounts/{personas.account.pk}"
    assert visitor.get(f"{base}/").status_code == 404
    assert visitor.get(f"{base}/log/").status_code == 404
    assert visitor.post(f"{base}/invite/", {"username": "x", "email": "x@x.example"}
                        ).status_code == 404
    assert visitor.post(f"{base}/ip-policy/", {"ip_match": "off"}).status_code == 404
    assert visitor.post(f"{base}/users/{personas.member.pk}/reset/").status_code == 404
    assert not User.objects.filter(username="x").exists()
    assert ClientAccount.objects.get(pk=personas.account.pk).ip_match == "exact"


def test_disconnected_reseller_user_loses_the_account(personas: Personas,
                                                      signed_in: Signer) -> None:
    rita = signed_in(personas.reseller_user)
    rita.post(f"/gateway/accounts/{personas.account.pk}/disconnect/"
              f"{personas.reseller_user.pk}/")
    assert not Connection.objects.exists()
    assert rita.get(f"/accounts/{personas.account.pk}/").status_code == 404
    assert rita.get(f"/users/{personas.member.pk}/").status_code == 404


def test_admin_cannot_reset_a_user_of_another_account_by_crafted_ids(
        personas: Personas, signed_in: Signer) -> None:
    alice = signed_in(personas.admin)
    response = alice.post(f"/accounts/{personas.account.pk}/users/{personas.stranger.pk}/reset/")
    assert response.status_code == 404


def test_account_log_shows_only_this_account_and_filters(personas: Personas,
                                                         signed_in: Signer) -> None:
    signed_in(personas.stranger)  # events in Globex
    signed_in(personas.member)
    alice = signed_in(personas.admin)
    page = alice.get(f"/accounts/{personas.account.pk}/log/").content.decode()
    assert "sam" not in page and "bob" in page
    only_bob = alice.get(f"/accounts/{personas.account.pk}/log/?user={personas.member.pk}"
                         "&type=login.succeeded").content.decode()
    assert only_bob.count('"User">bob</td>') >= 1 and '"User">alice</td>' not in only_bob
    for junk in ["?user=abc", "?type=nope", "?page=-1", "?page=99999", "?user=" + "9" * 30]:
        assert alice.get(f"/accounts/{personas.account.pk}/log/{junk}").status_code == 200


@pytest.mark.parametrize("user_id", ["", "abc", "-1", "0", "9" * 40])
def test_connect_with_a_bad_user_id_is_404(personas: Personas, signed_in: Signer,
                                           user_id: str) -> None:
    rita = signed_in(personas.reseller_user)
    connections = Connection.objects.count()
    response = rita.post(f"/gateway/accounts/{personas.account.pk}/connect/",
                         {"user_id": user_id})
    assert response.status_code == 404 and Connection.objects.count() == connections
    assert rita.get("/gateway/accounts/abc/").status_code == 404
