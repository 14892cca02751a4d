"""The hot-path selectors (one plain SQL statement each, lib/rows.py) give what the ORM
gives, in one query, on both databases (issue 26: each selector against its ORM
equivalent): every column they name has the ORM's value and type (Django's converters: a
UUID, an aware datetime, a JSON list), every other column is deferred, and their
statements read only the columns they name. On PostgreSQL their statements are prepared
by psycopg through Django's supported options."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, set_token_value

from loginguard.actions.clients import client_create
from loginguard.apitokens.models import ApiToken
from loginguard.apitokens.selectors import token_by_hash
from loginguard.apitokens.services import api_token_create
from loginguard.devices.models import TrustedDevice
from loginguard.devices.selectors import trusted_devices_by_secret
from loginguard.forwardauth.selectors import stored_session
from loginguard.lib import clock, rows
from loginguard.signin.models import UserSession
from loginguard.sso.models import Authorization
from loginguard.sso.selectors import grant_by_code, userinfo_row
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.throttle import counters
from loginguard.throttle.models import Counter
from loginguard.users import selectors as users
from loginguard.users.models import User
from tests.conftest import Personas, Visitor


def same_as_orm(found: Model, expected: Model) -> None:
    """Every loaded column as the ORM has it (value and type); the rest deferred."""
    loaded = {f.attname for f in type(found)._meta.concrete_fields} - found.get_deferred_fields()
    assert loaded, "nothing was read"
    for name in loaded:
        mine, theirs = found.__dict__[name], getattr(expected, name)
        assert mine == theirs and type(mine) is type(theirs), (name, mine, theirs)


def test_a_picked_column_list_names_only_what_it_was_given() -> None:
    picked = rows.Picked(ClientAccount, "a", ("ip_match", "id"))
    assert picked.sql == 'a."id", a."ip_match"'  # the model's order
    with pytest.raises(ValueError, match="no column"):
        rows.Picked(ClientAccount, "a", ("id", "nope"))


def test_the_users_selectors_match_the_orm(personas: Personas) -> None:
    for user in (personas.member, personas.reseller_user):
        expected = User.objects.select_related("account", "reseller").get(pk=user.pk)
        for found in (users.user_for_sign_in(user.username_key), users.user_by_id(user.pk)):
            assert found is not None
            same_as_orm(found, expected)
            assert found.date_joined.tzinfo is not None
            if expected.account is not None:
                same_as_orm(found.account, expected.account)
                assert found.reseller is None
            else:
                assert found.account is None
                same_as_orm(found.reseller, expected.reseller)
    assert users.user_for_sign_in("nobody") is None and users.user_by_id("x") is None


def test_the_sign_in_reads_only_the_tenant_columns_it_names() -> None:
    """A new Reseller or ClientAccount column must not join every sign-in query."""
    sql = users._sql()
    assert '"name"' in sql and '"ip_match"' in sql
    assert '"created_at"' not in sql  # the tenants' creation times: never needed here


def test_token_by_hash_matches_the_orm(personas: Personas,
                                       django_assert_num_queries: Any) -> None:
    api_token_create(user=personas.member, name="t", days=30)
    expected = ApiToken.objects.select_related("user__account").get()
    with django_assert_num_queries(1):
        row = token_by_hash(expected.token_hash)
        assert row is not None and row.user.account is not None
        assert row.user.account.name == "Acme"  # no lazy loads
    same_as_orm(row, expected)
    same_as_orm(row.user, expected.user)
    same_as_orm(row.user.account, expected.user.account)
    assert token_by_hash("f" * 64) is None


def test_devices_and_counters_match_the_orm(personas: Personas) -> None:
    Visitor().sign_in(personas.member, trust="yes", name="Laptop")
    device = TrustedDevice.objects.get()
    [found] = trusted_devices_by_secret(user_id=personas.member.pk,
                                        secret_hash=device.secret_hash)
    same_as_orm(found, device)
    assert trusted_devices_by_secret(user_id=personas.admin.pk,
                                     secret_hash=device.secret_hash) == []
    if isinstance(counters.store(), counters.DatabaseStore):
        counters.hit("k", lock_from=1)
        state = counters.read("k")
        row = Counter.objects.get(key="k")
        assert state == counters.State(row.count, row.locked_until)
        assert state.locked_until is not None and state.locked_until.tzinfo is not None
        same_as_orm(counters.COUNTER.build(rows.fetch(
            counters._statements()["locked"], ["k"])[0]), row)


def test_the_forward_auth_read_matches_the_orm(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.reseller_user)
    key = UserSession.objects.get().session_key
    found = stored_session(key, timezone.now())
    assert found is not None and found.user is not None
    expected = User.objects.select_related("account", "reseller").get(
        pk=personas.reseller_user.pk)
    same_as_orm(found.user, expected)
    assert found.user.account is None
    same_as_orm(found.user.reseller, expected.reseller)
    assert stored_session("x" * 32, timezone.now()) is None


def test_the_sso_selectors_match_the_orm_json_and_uuid_columns_included(
        personas: Personas) -> None:
    """A JSON column arrives from the cursor as text and a UUID on SQLite as a string; the
    instances hold what the ORM's would (a grant's RFC 8707 resources as a list, not the
    text "[]", which is truthy; an authorization's family as a UUID)."""
    registered = client_create(name="App", redirect_uris=["https://app.example/cb"],
                               public=False)
    application = Application.objects.get(pk=registered.client.application_id)
    for code, resource in (("c-none", []), ("c-api", ["https://api.example/"])):
        Grant.objects.create(application=application, user=personas.member, code=code,
                             expires=clock.now() + timedelta(minutes=1),
                             redirect_uri="https://app.example/cb", scope="openid",
                             resource=resource)
        found = grant_by_code(code)
        same_as_orm(found, Grant.objects.get(code=code))
        same_as_orm(found.user, User.objects.get(pk=personas.member.pk))
        assert found.resource == resource and found.lg_authorization is None
    now = clock.now()
    Authorization.objects.create(
        code_checksum=hashlib.sha256(b"c-api").hexdigest(), family=uuid.uuid4(),
        user=personas.member, application=application, session_ref=1, sid="s",
        auth_time=now, amr="pwd otp", acr="x", scope="openid", email="bob@acme.example",
        email_verified=True, created_at=now, last_used_at=now)
    authorization = grant_by_code("c-api").lg_authorization
    same_as_orm(authorization, Authorization.objects.get())
    assert isinstance(authorization.family, uuid.UUID)
    token = AccessToken(user=personas.member, application=application, scope="openid",
                        expires=clock.now() + timedelta(minutes=5), resource=[])
    set_token_value(token, "raw-access-token")
    token.save()
    row = userinfo_row(hashlib.sha256(b"raw-access-token").hexdigest())
    assert row is not None and row.token.resource == []
    same_as_orm(row.token, AccessToken.objects.get())
    account = ClientAccount.objects.select_related("reseller").get(pk=personas.account.pk)
    same_as_orm(row.user.account, account)
    assert isinstance(row.user.account.reseller, Reseller)
    same_as_orm(row.user.account.reseller, account.reseller)


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
