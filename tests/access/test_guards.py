from __future__ import annotations

import pytest
from django.http import Http404

from loginguard.access.guards import access_account_by_id, access_user_by_id
from loginguard.access.rules import can_administer
from loginguard.actions.users import user_create
from tests.conftest import PASSWORD, Personas


def test_client_admin_reaches_users_of_their_account_only(personas: Personas) -> None:
    assert access_user_by_id(personas.admin, personas.member.pk) == personas.member
    with pytest.raises(Http404):
        access_user_by_id(personas.admin, personas.stranger.pk)


def test_client_user_reaches_only_themselves(personas: Personas) -> None:
    assert access_user_by_id(personas.member, personas.member.pk) == personas.member
    with pytest.raises(Http404):
        access_user_by_id(personas.member, personas.admin.pk)


def test_connected_reseller_user_administers_the_connected_account(personas: Personas) -> None:
    assert can_administer(personas.reseller_user, personas.account)
    assert access_user_by_id(personas.reseller_user, personas.member.pk) == personas.member
    assert not can_administer(personas.other_reseller_user, personas.account)
    with pytest.raises(Http404):
        access_user_by_id(personas.other_reseller_user, personas.member.pk)


@pytest.mark.parametrize("bad_id", ["", "abc", "-1", "99999999", None, "1e3", "٣"])
def test_missing_and_malformed_ids_are_404_like_foreign_ones(personas: Personas,
                                                             bad_id: object) -> None:
    with pytest.raises(Http404):
        access_user_by_id(personas.admin, bad_id)  # type: ignore[arg-type]
    with pytest.raises(Http404):
        access_account_by_id(personas.admin, bad_id)  # type: ignore[arg-type]


def test_account_access_is_limited_to_own_or_connected(personas: Personas) -> None:
    assert access_account_by_id(personas.admin, personas.account.pk) == personas.account
    assert access_account_by_id(personas.reseller_user, personas.account.pk) == personas.account
    with pytest.raises(Http404):
        access_account_by_id(personas.admin, personas.other_account.pk)
    with pytest.raises(Http404):
        access_account_by_id(personas.other_reseller_user, personas.account.pk)


def test_account_guard_refuses_a_suspended_own_account(personas: Personas) -> None:
    # Suspension also ends the account's sessions; the guard does not rely on that.
    personas.account.is_active = False
    personas.account.save()
    with pytest.raises(Http404):
        access_account_by_id(personas.admin, personas.account.pk)
    with pytest.raises(Http404):
        access_account_by_id(personas.reseller_user, personas.account.pk)


def test_account_guard_refuses_an_unconnected_reseller_user(personas: Personas) -> None:
    # The same reseller's account, but this user is not connected to it.
    colleague = user_create(username="ron", email="ron@northwind.example",
                            reseller=personas.reseller, password=PASSWORD)
    with pytest.raises(Http404):
        access_account_by_id(colleague, personas.account.pk)


# --- the rules every surface shares (issue 26: written once) ---------------------------

def test_may_sign_in_follows_the_user_and_both_tenants(personas: Personas) -> None:
    from loginguard.access.rules import may_sign_in
    from loginguard.actions.tenants import account_set_active, reseller_set_active

    assert may_sign_in(personas.member) and may_sign_in(personas.reseller_user)
    assert not may_sign_in(None)
    account_set_active(account=personas.account, active=False)
    personas.member.refresh_from_db()
    assert not may_sign_in(personas.member) and may_sign_in(personas.reseller_user)
    reseller_set_active(reseller=personas.reseller, active=False)
    personas.reseller_user.refresh_from_db()
    assert not may_sign_in(personas.reseller_user)
    assert may_sign_in(personas.stranger)


def test_roles_accounts_and_visible_users(personas: Personas) -> None:
    from loginguard.access.rules import belongs_to, role_of, visible_accounts, visible_users

    assert [role_of(u) for u in (personas.admin, personas.member, personas.reseller_user)] \
        == ["client_admin", "client_user", "reseller_user"]
    assert list(visible_accounts(personas.reseller_user)) == [personas.account]
    assert list(visible_accounts(personas.other_reseller_user)) == []
    assert belongs_to(personas.reseller_user, personas.account.pk)
    assert not belongs_to(personas.reseller_user, personas.other_account.pk)
    assert not belongs_to(personas.stranger, personas.account.pk)
    assert set(visible_users(personas.admin)) == {personas.admin, personas.member}
    assert list(visible_users(personas.member)) == [personas.member]
    assert list(visible_users(personas.stranger)) == [personas.stranger]


def test_gateway_guards_answer_404_outside_the_actors_reseller(personas: Personas) -> None:
    from loginguard.access.guards import (
        access_gateway_account,
        access_reseller,
        access_reseller_user,
    )

    rita, sue = personas.reseller_user, personas.other_reseller_user
    assert access_gateway_account(rita, personas.account.pk) == personas.account
    assert access_reseller_user(rita, rita.pk) == rita
    for attempt in (lambda: access_gateway_account(sue, personas.account.pk),
                    lambda: access_reseller_user(rita, sue.pk),
                    lambda: access_reseller(personas.admin),
                    lambda: access_gateway_account(rita, personas.other_account.pk)):
        with pytest.raises(Http404):
            attempt()
