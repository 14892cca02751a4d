"""``registry.enrolled`` reads which factors a user has with one plain statement written
from the registry; it must say exactly what the ORM's own rows of each factor say."""

from __future__ import annotations

import itertools

import pytest

from loginguard.actions.users import user_create
from loginguard.factors.models import AuthenticatorApp, Passkey, RecoveryCode
from loginguard.factors.registry import COUNTED, enrolled, with_kinds
from loginguard.lib import clock
from loginguard.users.models import User
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def test_the_one_statement_agrees_with_the_orm_for_every_combination(
        personas: Personas) -> None:
    now = clock.now()
    states = list(itertools.product([False, True], repeat=3))
    users = []
    for n, (passkey, app, codes) in enumerate(states):
        for used in ([False, True] if codes else [False]):
            user = user_create(username=f"f{n}{int(used)}", email=f"f{n}{int(used)}@x.example",
                               account=personas.account)
            if passkey:
                Passkey.objects.create(user=user, name="Key", credential_id=f"c{user.pk}".encode(),
                                       public_key=b"k", created_at=now)
            if app:
                AuthenticatorApp.objects.create(user=user, name="Phone", secret="x",
                                                created_at=now)
            if codes:  # all used: the user has no recovery code left
                RecoveryCode.objects.create(user=user, code_hash=f"h{user.pk}", created_at=now,
                                            used_at=now if used else None)
            users.append(user)
    flagged = {u.pk: u for u in with_kinds(User.objects.filter(pk__in=[u.pk for u in users]))}
    for user in users:
        orm = {factor.key for factor in COUNTED if getattr(flagged[user.pk],
                                                           f"factor_{factor.key}")}
        assert {factor.key for factor in enrolled(user)} - {"email"} == orm, user.username
        assert "email" in {factor.key for factor in enrolled(user)}
