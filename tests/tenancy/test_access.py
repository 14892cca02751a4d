from __future__ import annotations

import pytest
from django.http import Http404

from loginguard.tenancy.access import access_account_by_id, access_user_by_id, can_administer
from tests.conftest import Personas


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
