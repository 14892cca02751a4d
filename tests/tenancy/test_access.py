from __future__ import annotations

import pytest
from django.http import Http404

from loginguard.tenancy.access import access_account_by_id, access_user_by_id, can_administer
from loginguard.users.services import user_create
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
