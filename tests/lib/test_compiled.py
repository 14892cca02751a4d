"""CompiledLookup: the ORM's own SQL, converters and select_related population, compiled
once per connection, give the same objects as the queryset."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest
from django.db import connection, connections

from loginguard.apitokens.models import ApiToken
from loginguard.apitokens.services import api_token_create
from loginguard.lib.compiled import CompiledLookup
from tests.conftest import Personas

BY_HASH = CompiledLookup(
    lambda digest: ApiToken.objects.select_related("user__account").filter(token_hash=digest),
    "0" * 64)


@pytest.mark.django_db(transaction=True)
def test_same_objects_as_the_orm(personas: Personas) -> None:
    api_token_create(user=personas.member, name="t", days=30, ip="", user_agent="")
    expected = ApiToken.objects.select_related("user__account").get()
    for _ in range(2):  # the first call compiles, the second reuses
        row = BY_HASH.first(expected.token_hash)
        assert row is not None and row.pk == expected.pk
        for field in ApiToken._meta.concrete_fields:
            assert getattr(row, field.attname) == getattr(expected, field.attname)
        assert row.expires_at.tzinfo is not None  # the backend's converters ran
        assert row.user.username == "bob" and row.user.account.name == "Acme"
        assert row.user.password == expected.user.password
    assert BY_HASH.first("f" * 64) is None


@pytest.mark.django_db(transaction=True)
def test_one_query_and_each_thread_its_own_connection(
        personas: Personas, django_assert_num_queries: object) -> None:
    api_token_create(user=personas.member, name="t", days=30, ip="", user_agent="")
    digest = ApiToken.objects.get().token_hash
    with django_assert_num_queries(1):  # type: ignore[operator]
        row = BY_HASH.first(digest)
        assert row is not None and row.user.account.name == "Acme"  # no lazy loads
    found: list[object] = []
    thread_connection: list[weakref.ref[object]] = []

    def other_thread() -> None:
        from django.db import connection

        try:
            found.append(BY_HASH.first(digest))
            thread_connection.append(weakref.ref(connections["default"]))
        finally:
            connection.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert getattr(found[0], "pk", None) == row.pk
    # The compiled state lives on each connection: it does not keep a finished thread's
    # connection alive.
    found.clear()  # the row's instances, nothing else of the thread's
    del thread
    gc.collect()
    assert thread_connection[0]() is None


def test_a_queryset_with_other_parameters_is_refused(db: None) -> None:
    lookup = CompiledLookup(lambda name: ApiToken.objects.filter(name=name, user_id=7), "x")
    with pytest.raises(ValueError, match="placeholders"):
        lookup.first("x")


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="prepared statements are a PostgreSQL feature")
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_lookup_is_prepared_once_and_nothing_else_is(
        personas: Personas) -> None:
    api_token_create(user=personas.member, name="t", days=30, ip="", user_agent="")
    digest = ApiToken.objects.get().token_hash
    for _ in range(10):
        assert BY_HASH.first(digest) is not None
        assert ApiToken.objects.filter(token_hash=digest).exists()  # Django's own query
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert len(statements) == 1 and '"apitokens_apitoken"."token_hash" = $1' in statements[0]


def test_all_returns_every_row(personas: Personas) -> None:
    for name in ("one", "two"):
        api_token_create(user=personas.member, name=name, days=30, ip="", user_agent="")
    by_user = CompiledLookup(lambda user_id: ApiToken.objects.filter(user_id=user_id), 0)
    assert sorted(t.name for t in by_user.all(personas.member.pk)) == ["one", "two"]
    assert by_user.all(personas.admin.pk) == []
