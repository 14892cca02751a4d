"""signin/session_store.py: each session row written once per change, the old row gone
at rotation, the signed-in row committed together with its UserSession row."""

from __future__ import annotations

from typing import Any
from unittest import mock

from django.contrib.sessions.middleware import SessionMiddleware
from django.contrib.sessions.models import Session
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from loginguard.devices.request_info import RequestInfo
from loginguard.factors.proofs import Proof
from loginguard.signin.models import UserSession
from loginguard.signin.session_store import SessionStore
from loginguard.signin.sessions import session_start
from tests.conftest import CHROME_WINDOWS, HOME_IP, Personas, Visitor, last_code


def session_writes(queries: Any) -> list[str]:
    # (a statement the server prepared is logged without its text on PostgreSQL: None)
    statements = [q["sql"] or "" for q in queries.captured_queries]
    return [sql.split(" ")[0] for sql in statements
            if '"django_session"' in sql and not sql.startswith("SELECT")]


def test_each_sign_in_stage_starts_a_new_session_row(personas: Personas,
                                                     visitor: Visitor) -> None:
    visitor.get("/login/")
    with CaptureQueriesContext(connection) as queries:
        visitor.password("bob")
    assert session_writes(queries)[0] == "INSERT"  # a new key for the pending login
    pending_key = visitor.client.session.session_key
    visitor.code(last_code("bob@acme.example"))
    with CaptureQueriesContext(connection) as queries:
        visitor.trust("no")
    assert "DELETE" in session_writes(queries)  # the pending row is gone
    assert not Session.objects.filter(session_key=pending_key).exists()
    assert Session.objects.get(session_key=visitor.client.session.session_key
                               ).get_decoded()["_auth_user_id"] == str(personas.member.pk)


def test_a_new_key_costs_no_existence_probe(personas: Personas) -> None:
    store = SessionStore()
    with CaptureQueriesContext(connection) as queries:
        store.create()
    assert [q["sql"].split(" ")[0] for q in queries.captured_queries
            if '"django_session"' in (q["sql"] or "")] == ["INSERT"]


def test_the_signed_in_row_commits_with_the_user_session_row(personas: Personas) -> None:
    # No response goes out here, so nothing but session_start itself may have written the
    # row: "sign out other sessions" must never find a UserSession without its session.
    request = RequestFactory().post("/login/trust/", REMOTE_ADDR=HOME_IP,
                                    HTTP_USER_AGENT=CHROME_WINDOWS)
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    session_start(request, user=personas.member, info=RequestInfo.of(request),
                  proofs=[Proof.PASSWORD, Proof.EMAIL_CODE])
    key = request.session.session_key
    assert UserSession.objects.filter(session_key=key).exists()
    assert Session.objects.filter(session_key=key).exists()


def test_a_taken_key_is_replaced_not_overwritten(personas: Personas) -> None:
    taken = SessionStore()
    taken["owner"] = "someone else"
    taken.save()
    keys = iter([taken.session_key, "a" * 32])
    # The random source gives the taken key first: the primary key refuses it and
    # Django's create() draws again.
    with mock.patch("django.contrib.sessions.backends.base.get_random_string",
                    lambda *args: next(keys)):
        fresh = SessionStore()
        fresh["owner"] = "me"
        fresh.save()
    assert fresh.session_key == "a" * 32
    assert SessionStore(taken.session_key).load() == {"owner": "someone else"}
    assert SessionStore("a" * 32).load() == {"owner": "me"}
