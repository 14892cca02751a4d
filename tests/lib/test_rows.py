"""The hot-path selectors (one plain SQL statement each, lib/rows.py) give the same objects
as the ORM, in one query; on PostgreSQL their statements are prepared by psycopg through
Django's supported options."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from oauth2_provider.models import AccessToken, Application, Grant, set_token_value

from loginguard.apitokens.models import ApiToken
from loginguard.apitokens.selectors import token_by_hash
from loginguard.apitokens.services import api_token_create
from loginguard.devices.models import TrustedDevice
from loginguard.devices.selectors import trusted_devices_by_secret
from loginguard.lib import clock
from loginguard.sso.selectors import grant_by_code, userinfo_row
from loginguard.actions.clients import client_create
from loginguard.throttle import counters
from loginguard.throttle.models import Counter
from loginguard.users.models import User
from loginguard.users.selectors import user_for_sign_in
from tests.conftest import Personas, Visitor


def same_fields(a: Any, b: Any) -> None:
    for field in type(a)._meta.concrete_fields:
        assert getattr(a, field.attname) == getattr(b, field.attname), field.attname


def test_token_by_hash_matches_the_orm(personas: Personas,
                                       django_assert_num_queries: object) -> None:
    api_token_create(user=personas.member, name="t", days=30)
    expected = ApiToken.objects.select_related("user__account").get()
    with django_assert_num_queries(1):  # type: ignore[operator]
        row = token_by_hash(expected.token_hash)
        assert row is not None and row.user.account is not None
        assert row.user.account.name == "Acme"  # no lazy loads
    same_fields(row, expected)
    same_fields(row.user, expected.user)
    same_fields(row.user.account, expected.user.account)
    assert row.expires_at.tzinfo is not None and row.user.is_active is True
    assert token_by_hash("f" * 64) is None


def test_user_for_sign_in_matches_the_orm(personas: Personas) -> None:
    for user in (personas.member, personas.reseller_user):
        found = user_for_sign_in(user.username_key)
        expected = User.objects.select_related("account", "reseller").get(pk=user.pk)
        assert found is not None
        same_fields(found, expected)
        assert found.date_joined.tzinfo is not None
        if expected.account is not None:
            same_fields(found.account, expected.account)
            assert found.account.is_active is True
        else:
            assert found.account is None and found.reseller is not None
            same_fields(found.reseller, expected.reseller)
    assert user_for_sign_in("nobody") is None


def test_devices_and_counters_match_the_orm(personas: Personas) -> None:
    Visitor().sign_in(personas.member, trust="yes", name="Laptop")
    device = TrustedDevice.objects.get()
    [found] = trusted_devices_by_secret(user_id=personas.member.pk,
                                        secret_hash=device.secret_hash)
    same_fields(found, device)
    assert trusted_devices_by_secret(user_id=personas.admin.pk,
                                     secret_hash=device.secret_hash) == []
    if isinstance(counters.store(), counters.DatabaseStore):
        counters.hit("k", lock_from=1)
        state = counters.read("k")
        row = Counter.objects.get(key="k")
        assert state == counters.State(row.count, row.locked_until)
        assert state.locked_until is not None and state.locked_until.tzinfo is not None


def test_the_sso_selectors_match_the_orm_json_columns_included(personas: Personas) -> None:
    """A JSON column arrives from the cursor as text; the instance holds what the ORM's
    would (a grant's RFC 8707 resources as a list, not the text "[]", which is truthy)."""
    registered = client_create(name="App", redirect_uris=["https://app.example/cb"],
                               public=False)
    application = Application.objects.get(pk=registered.client.application_id)
    for code, resource in (("c-none", []), ("c-api", ["https://api.example/"])):
        Grant.objects.create(application=application, user=personas.member, code=code,
                             expires=clock.now() + timedelta(minutes=1),
                             redirect_uri="https://app.example/cb", scope="openid",
                             resource=resource)
        found = grant_by_code(code)
        same_fields(found, Grant.objects.get(code=code))
        assert found.resource == resource
    token = AccessToken(user=personas.member, application=application, scope="openid",
                        expires=clock.now() + timedelta(minutes=5), resource=[])
    set_token_value(token, "raw-access-token")
    token.save()
    row = userinfo_row(hashlib.sha256(b"raw-access-token").hexdigest())
    assert row is not None and row.token.resource == []
    same_fields(row.token, AccessToken.objects.get())


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="prepared statements are a PostgreSQL feature")
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_hot_statements_are_prepared(personas: Personas) -> None:
    api_token_create(user=personas.member, name="t", days=30)
    digest = ApiToken.objects.get().token_hash
    for _ in range(10):
        assert token_by_hash(digest) is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any("WHERE t.token_hash = $1" in s for s in statements), statements
