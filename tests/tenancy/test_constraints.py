"""The tenancy invariants are database constraints: they hold even for code that skips
the services (raw ORM writes here), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from loginguard.tenancy.models import ClientAccount, Connection
from loginguard.users.models import User
from tests.conftest import Personas


def _raw_user(**fields: object) -> None:
    with transaction.atomic():
        User(username=str(fields.pop("username", "raw")), email="raw@x.example",
             password="!", **fields).save()


def test_client_user_needs_an_account_and_no_reseller(personas: Personas) -> None:
    with pytest.raises(IntegrityError):
        _raw_user(kind="client")
    with pytest.raises(IntegrityError):
        _raw_user(kind="client", account=personas.account, reseller=personas.reseller)


def test_reseller_user_needs_a_reseller_and_no_account(personas: Personas) -> None:
    with pytest.raises(IntegrityError):
        _raw_user(kind="reseller")
    with pytest.raises(IntegrityError):
        _raw_user(kind="reseller", reseller=personas.reseller, account=personas.account)


def test_admin_flag_only_on_client_users(personas: Personas) -> None:
    with pytest.raises(IntegrityError):
        _raw_user(kind="reseller", reseller=personas.reseller, is_client_admin=True)
    _raw_user(kind="client", account=personas.account, is_client_admin=True)  # allowed


@pytest.mark.parametrize("variant", ["ALICE", "Alice", "ａｌｉｃｅ"])
def test_usernames_are_unique_ignoring_case_and_width(personas: Personas, variant: str) -> None:
    with pytest.raises(IntegrityError):
        _raw_user(username=variant, kind="client", account=personas.account)


def test_connection_cannot_cross_resellers(personas: Personas) -> None:
    foreign = ClientAccount.objects.create(name="Foreign", reseller=personas.other_reseller)
    with pytest.raises(IntegrityError), transaction.atomic():
        Connection.objects.create(user=personas.reseller_user, account=foreign)
    with pytest.raises(IntegrityError), transaction.atomic():
        Connection.objects.create(user=personas.reseller_user, account=personas.other_account)
    with pytest.raises(IntegrityError), transaction.atomic():
        Connection.objects.create(user=personas.member, account=personas.account)


def test_connected_account_cannot_move_to_another_reseller(personas: Personas) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientAccount.objects.filter(pk=personas.account.pk).update(
            reseller=personas.other_reseller)


def test_connected_user_cannot_move_to_another_reseller(personas: Personas) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=personas.reseller_user.pk).update(
            reseller=personas.other_reseller)


def test_unconnected_account_can_change_reseller(personas: Personas) -> None:
    ClientAccount.objects.filter(pk=personas.other_account.pk).update(
        reseller=personas.other_reseller)
    assert ClientAccount.objects.get(pk=personas.other_account.pk).reseller == \
        personas.other_reseller
